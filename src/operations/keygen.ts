import pkcs11 from 'pkcs11js';
import type { TemplateData } from '../model/workload.js';
import type { Algorithm, KeyPairFamily } from '../model/algorithms.js';
import { KEY_PAIR_GENERATION } from '../pkcs11/mechanisms.js';
import { publicKeyFromAttributes } from '../pkcs11/public-key.js';
import { requireMechanism, type OperationKind } from './operation-kind.js';

interface KeygenCheck {
  family: KeyPairFamily;
  bits: number;
  ecParams: Uint8Array | null;
}

/**
 * C_GenerateKeyPair of session key pairs (CKA_TOKEN false: never left on a token). The clock covers the generation;
 * then the public key is read back and both objects are destroyed. The host checks the modulus size, or that the
 * point lies on the curve (an Edwards point decoded as RFC 8032 does: node's import alone takes any bytes).
 */
export const keygen: OperationKind = {
  name: 'keygen',
  call: 'keygen',
  checked: 'checked on the host (modulus size, point on the curve)',
  noun: 'key pair',
  nouns: 'key pairs',
  title: (alg) => `${alg.displayName.replace(/^ECDSA /, 'EC ')} key generation`,
  algorithms: ['p256', 'p384', 'bp256', 'bp384', 'rsa2048', 'rsa3072', 'rsa4096', 'ed25519', 'ed448'],
  mechanismChoices: () => ['generate'],
  // The modulus; or the point (04‖X‖Y; an Edwards point is its encoding alone), in a DER OCTET STRING (PKCS#11 2.40) or bare (as older modules give it).
  outputBytes: (alg) => (alg.family === 'rsa' ? [alg.bits / 8] : alg.family === 'eddsa' ? [2 + alg.bits / 8, alg.bits / 8] : [3 + 2 * Math.ceil(alg.bits / 8), 1 + 2 * Math.ceil(alg.bits / 8)]),
  prepare(ctx) {
    const alg = ctx.algorithm as Extract<Algorithm, { family: KeyPairFamily }>;
    const rsa = alg.family === 'rsa';
    const m = requireMechanism(`generate ${alg.displayName} key pairs`, [KEY_PAIR_GENERATION[alg.family]], ctx.tokens);
    const publicTemplate: TemplateData = [
      { type: pkcs11.CKA_TOKEN, value: false },
      { type: pkcs11.CKA_VERIFY, value: true },
      ...(alg.family === 'rsa'
        ? [
            { type: pkcs11.CKA_MODULUS_BITS, value: alg.bits },
            { type: pkcs11.CKA_PUBLIC_EXPONENT, value: Uint8Array.from([1, 0, 1]) },
          ]
        : [{ type: pkcs11.CKA_EC_PARAMS, value: alg.curveOidDer }]),
    ];
    const privateTemplate: TemplateData = [
      { type: pkcs11.CKA_TOKEN, value: false },
      { type: pkcs11.CKA_PRIVATE, value: true },
      { type: pkcs11.CKA_SENSITIVE, value: true },
      { type: pkcs11.CKA_SIGN, value: true },
    ];
    const check: KeygenCheck = { family: alg.family, bits: alg.bits, ecParams: alg.family === 'rsa' ? null : alg.curveOidDer };
    return {
      timed: {
        name: 'keygen',
        call: 'keygen',
        mechanism: m,
        input: 'none',
        key: { kind: 'none' },
        templates: { public: publicTemplate, private: privateTemplate },
        readBack: rsa ? pkcs11.CKA_MODULUS : pkcs11.CKA_EC_POINT,
        outputBytes: keygen.outputBytes(alg, m.name),
      },
      tables: ctx.tokens.map(() => null),
      check,
      hostPreparation: 'none',
    };
  },
  check(data, _token, _seed, _sequence, output) {
    const c = data as KeygenCheck;
    if (c.family === 'rsa') return output.length * 8 === c.bits && (output[0]! & 0x80) !== 0;
    try {
      // Importing checks that the point lies on the curve (an Edwards point by decoding it first).
      publicKeyFromAttributes({ family: c.family, ecParams: Buffer.from(c.ecParams!), ecPoint: output });
      return true;
    } catch {
      return false;
    }
  },
};
