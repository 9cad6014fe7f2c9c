import { createECDH } from 'node:crypto';
import pkcs11 from 'pkcs11js';
import { rowOf, toTemplate, type TemplateData } from '../model/workload.js';
import { toPkcs11Mechanism } from '../pkcs11/timed-call.js';
import { describe } from '../model/ckr.js';
import { setupError } from '../core/errors.js';
import { privateKeyOf, requireMechanism, type OperationKind } from './operation-kind.js';

/** Host key pairs per token, made before the run; the calls take their public points in turn. */
const ROWS = 64;

/**
 * The ECDH variants, by --mechanism word, each with CK_ECDH1_DERIVE_PARAMS (no KDF, the host key pair's public point).
 * Every curve derive takes has cofactor 1, so the cofactor variant's secret is plain ECDH's, which the host checks.
 */
const ECDH = {
  ecdh: { name: 'CKM_ECDH1_DERIVE', ckm: pkcs11.CKM_ECDH1_DERIVE, what: 'ECDH' },
  'ecdh-cofactor': { name: 'CKM_ECDH1_COFACTOR_DERIVE', ckm: pkcs11.CKM_ECDH1_COFACTOR_DERIVE, what: 'ECDH (cofactor)' },
};

interface DeriveCheck {
  curve: string;
  /** Per token: the host private keys, and the token's public point (uncompressed). */
  hostPrivateKeys: Uint8Array[][];
  tokenPoints: Uint8Array[];
}

/**
 * ECDH (CKM_ECDH1_DERIVE or CKM_ECDH1_COFACTOR_DERIVE, no KDF) of the token's private key with a host public key, into a session secret that is
 * read back (where the token allows it) and destroyed. The host computes the same ECDH and compares; a token that
 * keeps derived secrets sensitive gets its check reported as skipped.
 */
export const derive: OperationKind = {
  name: 'derive',
  call: 'derive',
  checked: "checked on the host against its own ECDH with the token's public key",
  noun: 'derivation',
  nouns: 'derivations',
  title: (alg) => `ECDH ${alg.displayName.replace(/^ECDSA /, '')}`,
  algorithms: ['p256', 'p384', 'bp256', 'bp384'],
  mechanismChoices: () => Object.keys(ECDH),
  mechanismOfCode: (ckm) => Object.entries(ECDH).find(([, m]) => m.ckm === ckm)?.[0],
  keyUsage: () => 'derive',
  // The secret is one field element (CKA_VALUE_LEN).
  outputBytes: (alg) => [Math.ceil(alg.bits / 8)],
  prepare(ctx) {
    if (ctx.algorithm.family !== 'ec') throw setupError('derive needs an EC key', 'use --alg p256, p384, bp256 or bp384');
    const curve = ctx.algorithm.curve;
    const fieldBytes = Math.ceil(ctx.algorithm.bits / 8);
    const variant = ECDH[(ctx.mechanismChoice ?? 'ecdh') as keyof typeof ECDH];
    const m = requireMechanism(`derive with ${variant.what}`, [variant], ctx.tokens);
    const derived: TemplateData = [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
      { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_GENERIC_SECRET },
      { type: pkcs11.CKA_TOKEN, value: false },
      { type: pkcs11.CKA_SENSITIVE, value: false },
      { type: pkcs11.CKA_EXTRACTABLE, value: true },
      { type: pkcs11.CKA_VALUE_LEN, value: fieldBytes },
    ];
    const mechanism = { name: m.name, ckm: m.ckm, parameter: { kind: 'ecdh' as const, kdf: pkcs11.CKD_NULL } };
    const check: DeriveCheck = { curve, hostPrivateKeys: [], tokenPoints: [] };
    let unreadable: string | undefined;
    const tables = ctx.tokens.map((t) => {
      const spki = t.keyPair!.publicKey.export({ format: 'der', type: 'spki' });
      check.tokenPoints.push(spki.subarray(spki.length - (1 + 2 * fieldBytes)));
      const hosts = Array.from({ length: ROWS }, () => {
        const ecdh = createECDH(curve);
        ecdh.generateKeys();
        return ecdh;
      });
      check.hostPrivateKeys.push(hosts.map((h) => h.getPrivateKey()));
      const rows = hosts.map((h) => h.getPublicKey());
      // One derivation before the run: does this token let a derived secret be read?
      try {
        const secret = ctx.lib.C_DeriveKey(t.session, toPkcs11Mechanism(mechanism, rows[0]!), t.keyPair!.privateKey, toTemplate(derived));
        try {
          ctx.lib.C_GetAttributeValue(t.session, secret, [{ type: pkcs11.CKA_VALUE }]);
        } catch (error) {
          unreadable ??= `token ${t.name} does not let a derived secret be read (${describe(error)})`;
        } finally {
          ctx.lib.C_DestroyObject(t.session, secret);
        }
      } catch (error) {
        throw setupError(`token ${t.name} cannot derive with ${variant.what}: ${describe(error)}`, 'the key needs CKA_DERIVE; create one with keys create --usage derive, or choose another --op');
      }
      return { rows };
    });
    return {
      timed: {
        name: 'derive',
        call: 'derive',
        mechanism,
        input: 'table',
        key: privateKeyOf(ctx.keyLabel),
        templates: { derived },
        readBack: pkcs11.CKA_VALUE,
        outputBytes: derive.outputBytes(ctx.algorithm, m.name),
      },
      tables,
      check,
      checkSkipped: unreadable,
      hostPreparation: `${ROWS} host key pairs per token, made before the run`,
    };
  },
  check(data, token, _seed, sequence, output) {
    const c = data as DeriveCheck;
    const keys = c.hostPrivateKeys[token]!;
    const ecdh = createECDH(c.curve);
    ecdh.setPrivateKey(Buffer.from(keys[rowOf(sequence, keys.length)]!));
    return ecdh.computeSecret(Buffer.from(c.tokenPoints[token]!)).equals(output);
  },
};
