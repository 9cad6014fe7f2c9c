import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import pkcs11 from 'pkcs11js';
import { MESSAGE_BYTES } from '../model/message.js';
import { rowOf } from '../model/workload.js';
import { checkAesDecrypt, prepareAesDecrypt, type AesDecryptCheck } from './aes-decrypt.js';
import { aesDataSizeProblem, encrypt } from './encrypt.js';
import { privateKeyOf, requireMechanism, type OperationKind, type PrepareContext, type PreparedOperation } from './operation-kind.js';

/** Ciphertexts per token, made on the host with the token's public key; calls take them in turn. */
const ROWS = 64;
const PLAINTEXT_BYTES = 32;

const CANDIDATES = {
  pkcs1: { name: 'CKM_RSA_PKCS', ckm: pkcs11.CKM_RSA_PKCS, padding: constants.RSA_PKCS1_PADDING, oaepHash: undefined },
  oaep: { name: 'CKM_RSA_PKCS_OAEP', ckm: pkcs11.CKM_RSA_PKCS_OAEP, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
  'oaep-sha1': { name: 'CKM_RSA_PKCS_OAEP', ckm: pkcs11.CKM_RSA_PKCS_OAEP, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
} as const;

const isRsaChoice = (choice: string) => choice in CANDIDATES;

/**
 * C_Decrypt: RSA of ciphertexts the host made with the token's public key, or AES (src/operations/aes-decrypt.ts) of
 * ciphertexts the token made with the run's test key, of any --data-size. The plaintext must come back.
 */
export const decrypt: OperationKind = {
  name: 'decrypt',
  call: 'decrypt',
  checked: 'checked on the host against the plaintext encrypted',
  noun: 'decryption',
  nouns: 'decryptions',
  title: (alg) => `${alg.displayName} decryption`,
  algorithms: ['rsa2048', 'rsa3072', 'rsa4096', 'aes256', 'aes128'],
  mechanismChoices: (alg) => (alg.family === 'aes' ? encrypt.mechanismChoices(alg) : Object.keys(CANDIDATES)),
  keyUsage: (alg) => (alg.family === 'rsa' ? 'decrypt' : undefined),
  outputBytes: (alg, _mechanism, dataBytes = MESSAGE_BYTES) => [alg.family === 'aes' ? dataBytes : PLAINTEXT_BYTES],
  dataSizeRefusal: (choice) =>
    isRsaChoice(choice) ? 'an RSA plaintext is bounded by the key (at most 245 bytes for RSA-2048 with PKCS#1 v1.5), and the host encrypts 32-byte ones; AES decrypt takes sizes' : undefined,
  dataSizeProblem: aesDataSizeProblem,
  prepare: (ctx) => (ctx.algorithm.family === 'aes' ? prepareAesDecrypt(ctx) : prepareRsa(ctx)),
  check(data, token, _seed, sequence, output, dataBytes = MESSAGE_BYTES) {
    if (!Array.isArray(data)) return checkAesDecrypt(data as AesDecryptCheck, output, dataBytes);
    const clear = (data as Uint8Array[][])[token]!;
    return Buffer.from(clear[rowOf(sequence, clear.length)]!).equals(output);
  },
};

/** RSA: ciphertexts of random 32-byte plaintexts, made on the host with each token's public key. */
function prepareRsa(ctx: PrepareContext): PreparedOperation {
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
}
