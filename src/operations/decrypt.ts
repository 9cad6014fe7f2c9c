import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import pkcs11 from 'pkcs11js';
import { rowOf } from '../model/workload.js';
import { privateKeyOf, requireMechanism, type OperationKind } from './operation-kind.js';

/** Ciphertexts per token, made on the host with the token's public key; calls take them in turn. */
const ROWS = 64;
const PLAINTEXT_BYTES = 32;

const CANDIDATES = {
  pkcs1: { name: 'CKM_RSA_PKCS', ckm: pkcs11.CKM_RSA_PKCS, padding: constants.RSA_PKCS1_PADDING, oaepHash: undefined },
  oaep: { name: 'CKM_RSA_PKCS_OAEP', ckm: pkcs11.CKM_RSA_PKCS_OAEP, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
  'oaep-sha1': { name: 'CKM_RSA_PKCS_OAEP', ckm: pkcs11.CKM_RSA_PKCS_OAEP, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
} as const;

/** RSA C_Decrypt of ciphertexts the host made with the token's public key: the plaintext must come back. */
export const decrypt: OperationKind = {
  name: 'decrypt',
  call: 'decrypt',
  checked: 'checked on the host against the plaintext encrypted',
  noun: 'decryption',
  nouns: 'decryptions',
  title: (alg) => `${alg.displayName} decryption`,
  algorithms: ['rsa2048', 'rsa3072', 'rsa4096'],
  mechanismChoices: () => ['pkcs1', 'oaep', 'oaep-sha1'],
  keyUsage: 'decrypt',
  outputBytes: () => [PLAINTEXT_BYTES],
  dataSizeRefusal: 'an RSA plaintext is bounded by the key (at most 245 bytes for RSA-2048 with PKCS#1 v1.5), and the host encrypts 32-byte ones',
  prepare(ctx) {
    const choice = (ctx.mechanismChoice ?? 'pkcs1') as keyof typeof CANDIDATES;
    const m = requireMechanism(`decrypt with ${choice}`, [CANDIDATES[choice]], ctx.tokens);
    const plaintexts: Uint8Array[][] = [];
    const tables = ctx.tokens.map((t) => {
      const clear = Array.from({ length: ROWS }, () => randomBytes(PLAINTEXT_BYTES));
      plaintexts.push(clear);
      return { rows: clear.map((p) => publicEncrypt({ key: t.keyPair!.publicKey, padding: m.padding, oaepHash: m.oaepHash }, p)) };
    });
    return {
      timed: {
        name: 'decrypt',
        call: 'decrypt',
        mechanism: {
          name: m.oaepHash === undefined ? m.name : `${m.name} (${m.oaepHash.toUpperCase()}, MGF1)`,
          ckm: m.ckm,
          parameter: m.oaepHash === undefined ? undefined : { kind: 'oaep', hash: m.oaepHash },
        },
        input: 'table',
        key: privateKeyOf(ctx.keyLabel),
        outputBytes: decrypt.outputBytes(ctx.algorithm, m.name),
      },
      tables,
      check: plaintexts,
      hostPreparation: `${ROWS} ciphertexts per token of random ${PLAINTEXT_BYTES}-byte plaintexts, made with its public key${m.oaepHash === undefined ? '' : ` (OAEP with ${m.oaepHash.toUpperCase()} and MGF1)`}`,
    };
  },
  check(data, token, _seed, sequence, output) {
    const clear = (data as Uint8Array[][])[token]!;
    return Buffer.from(clear[rowOf(sequence, clear.length)]!).equals(output);
  },
};
