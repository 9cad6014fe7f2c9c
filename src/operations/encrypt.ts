import { createCipheriv, createDecipheriv, hash, randomBytes, type CipherGCM, type DecipherGCM } from 'node:crypto';
import pkcs11 from 'pkcs11js';
import { dataFor, MESSAGE_BYTES } from '../model/message.js';
import { KEPT_SHA256_BYTES, KEPT_WHOLE_MAX_BYTES, type OperationMechanism } from '../model/workload.js';
import { withArticle } from '../core/words.js';
import { checkTestKeyImport, requireMechanism, sessionSecretKey, type OperationKind, type PrepareContext } from './operation-kind.js';

export type AesMode = 'gcm' | 'cbc';

/** The run's AES test key and IV: what the host needs to check any output made with them. */
export interface EncryptCheck {
  key: Uint8Array;
  iv: Uint8Array;
  mode: AesMode;
}

const TAG_BITS = 128;
export const TAG_BYTES = TAG_BITS / 8;

/** The bytes of an AES encryption of `dataBytes` (whole blocks, no padding): GCM's tag after the data. */
export const aesOutputBytes = (mechanism: string, dataBytes: number) => dataBytes + (mechanism === 'CKM_AES_GCM' ? TAG_BYTES : 0);

/** --data-size with AES: CBC without padding takes whole blocks only. */
export const aesDataSizeProblem = (choice: string, bytes: number) =>
  choice === 'cbc' && bytes % 16 !== 0 ? 'AES-CBC without padding encrypts whole 16-byte blocks: give a multiple of 16' : undefined;

/**
 * The run's AES test key of `mode` for `what` ("encrypt", "decrypt"): the mechanism every token must list, a key
 * and IV made on the host, the key's import tried on each token (checkTestKeyImport).
 */
export function aesTestKey(ctx: PrepareContext, mode: AesMode, what: string) {
  const m = requireMechanism(
    `${what} with AES-${mode.toUpperCase()}`,
    [mode === 'gcm' ? { name: 'CKM_AES_GCM', ckm: pkcs11.CKM_AES_GCM } : { name: 'CKM_AES_CBC', ckm: pkcs11.CKM_AES_CBC }],
    ctx.tokens,
  );
  const key = randomBytes(ctx.algorithm.bits / 8);
  const iv = randomBytes(mode === 'gcm' ? 12 : 16);
  const check: EncryptCheck = { key, iv, mode };
  const testKey = sessionSecretKey(pkcs11.CKK_AES, key, [pkcs11.CKA_ENCRYPT, pkcs11.CKA_DECRYPT]);
  checkTestKeyImport(ctx, testKey, withArticle(`${ctx.algorithm.displayName} key`));
  const mechanism: OperationMechanism = { name: m.name, ckm: m.ckm, parameter: mode === 'gcm' ? { kind: 'gcm', iv, tagBits: TAG_BITS } : { kind: 'iv', iv } };
  return { check, testKey, mechanism };
}

/**
 * AES C_Encrypt of a fresh 32-byte message (or --data-size bytes) per call with a test key hsm-bench imports into each session, so the host
 * decrypts every kept output and compares. The IV is one per run: a benchmark's throwaway key, not a protocol.
 */
export const encrypt: OperationKind = {
  name: 'encrypt',
  call: 'encrypt',
  checked: "decrypted on the host with the run's test key and compared",
  noun: 'encryption',
  nouns: 'encryptions',
  title: (alg) => `${alg.displayName} encryption`,
  algorithms: ['aes256', 'aes128'],
  mechanismChoices: () => ['gcm', 'cbc'],
  // The data (the 32-byte message unless --data-size), whole blocks without padding, and GCM's tag after it.
  outputBytes: (_alg, mechanism, dataBytes = MESSAGE_BYTES) => [aesOutputBytes(mechanism, dataBytes)],
  dataSizeProblem: aesDataSizeProblem,
  prepare(ctx) {
    const { check, testKey, mechanism } = aesTestKey(ctx, (ctx.mechanismChoice ?? 'gcm') as AesMode, 'encrypt');
    return {
      timed: {
        name: 'encrypt',
        call: 'encrypt',
        mechanism,
        input: 'message',
        key: testKey,
        outputBytes: encrypt.outputBytes(ctx.algorithm, mechanism.name),
      },
      tables: ctx.tokens.map(() => null),
      check,
      hostPreparation: `a ${ctx.algorithm.bits}-bit test key made on the host, imported into each session`,
    };
  },
  check(data, _token, seed, sequence, output, dataBytes = MESSAGE_BYTES) {
    const c = data as EncryptCheck;
    const bits = c.key.length * 8;
    const tagBytes = c.mode === 'gcm' ? TAG_BYTES : 0;
    const clear = dataFor(seed, sequence, dataBytes);
    // A large output comes as its SHA-256: the host encrypts the same data with the same key and IV (one output, deterministic) and compares.
    if (dataBytes + tagBytes > KEPT_WHOLE_MAX_BYTES && output.length === KEPT_SHA256_BYTES) {
      const e = c.mode === 'gcm' ? (createCipheriv(`aes-${bits}-gcm`, c.key, c.iv) as CipherGCM) : createCipheriv(`aes-${bits}-cbc`, c.key, c.iv).setAutoPadding(false);
      const made = Buffer.concat([e.update(clear), e.final(), ...(c.mode === 'gcm' ? [(e as CipherGCM).getAuthTag()] : [])]);
      return hash('sha256', made, 'buffer').equals(output);
    }
    try {
      if (c.mode === 'gcm') {
        const d = createDecipheriv(`aes-${bits}-gcm`, c.key, c.iv) as DecipherGCM;
        d.setAuthTag(output.subarray(output.length - TAG_BYTES));
        return Buffer.concat([d.update(output.subarray(0, output.length - TAG_BYTES)), d.final()]).equals(clear);
      }
      const d = createDecipheriv(`aes-${bits}-cbc`, c.key, c.iv).setAutoPadding(false);
      return Buffer.concat([d.update(output), d.final()]).equals(clear);
    } catch {
      // A tag that does not authenticate, a length that is not whole blocks: a wrong output.
      return false;
    }
  },
};
