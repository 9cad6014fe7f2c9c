import { hash, randomBytes } from 'node:crypto';
import { setupError } from '../core/errors.js';
import { byteSizeText } from '../core/byte-size.js';
import { ckrOf, describe } from '../model/ckr.js';
import { dataFor, MESSAGE_BYTES, SEED_BYTES } from '../model/message.js';
import { KEPT_SHA256_BYTES, KEPT_WHOLE_MAX_BYTES, toTemplate, type InputTable, type OperationMechanism } from '../model/workload.js';
import { multipartCall, toPkcs11Mechanism } from '../pkcs11/timed-call.js';
import { aesOutputBytes, aesTestKey, encrypt, TAG_BYTES, type AesMode, type EncryptCheck } from './encrypt.js';
import type { PrepareContext, PrepareToken, PreparedOperation } from './operation-kind.js';

/**
 * What the host checks an AES decryption against: the data that was encrypted, rebuilt from its seed (the message
 * of sequence 0, then filler: src/model/message.ts), and its SHA-256 per size for outputs kept as their SHA-256.
 */
export interface AesDecryptCheck {
  kind: 'aes';
  seed: Uint8Array;
  sha256: Record<number, Uint8Array>;
}

/** One encryption of `bytes` of data by the token with the run's test key (`handle`), checked on the host. */
function tokenCiphertext(ctx: PrepareContext, t: PrepareToken, handle: Buffer, key: EncryptCheck, mechanism: OperationMechanism, seed: Uint8Array, bytes: number): Uint8Array {
  const data = dataFor(seed, 0, bytes);
  const out = Buffer.alloc(aesOutputBytes(mechanism.name, bytes));
  const chunkBytes = ctx.payloads?.chunkBytes ?? null;
  let length: number;
  try {
    if (chunkBytes === null) {
      ctx.lib.C_EncryptInit(t.session, toPkcs11Mechanism(mechanism), handle);
      length = ctx.lib.C_Encrypt(t.session, data, out).length;
    } else {
      length = multipartCall(ctx.lib, 'encrypt', toPkcs11Mechanism(mechanism), chunkBytes)(t.session, handle, data, out);
    }
  } catch (error) {
    if (ckrOf(error) === undefined) throw error;
    throw setupError(
      `token ${t.name} cannot encrypt ${byteSizeText(bytes)} bytes${chunkBytes === null ? ' in one call' : ` in chunks of ${byteSizeText(chunkBytes)}`} with ${mechanism.name} to make the ciphertext to decrypt: ${describe(error)}`,
      chunkBytes === null ? 'give --multipart CHUNK (e.g. 4k) to hand it the data in parts, or smaller --data-size values' : 'give a smaller --multipart chunk or smaller --data-size values',
      error,
    );
  }
  const ciphertext = out.subarray(0, length);
  // The host decrypts it too: a token whose encryption and decryption were both wrong would otherwise pass.
  if (!encrypt.check(key, 0, seed, 0, ciphertext, bytes)) {
    throw setupError(
      `token ${t.name} encrypted ${byteSizeText(bytes)} bytes with ${mechanism.name} into a ciphertext that does not decrypt on the host to the data`,
      'the token or its module is faulty; hsm-bench does not measure wrong answers',
    );
  }
  return new Uint8Array(ciphertext);
}

/**
 * AES C_Decrypt of one ciphertext per token and data size (--data-size; else of the 32-byte message), made by the
 * token before the run with the run's test key (imported into each session, as encrypt's is) and checked on the host;
 * every call's plaintext is compared with the data encrypted.
 */
export function prepareAesDecrypt(ctx: PrepareContext): PreparedOperation {
  const { check: key, testKey, mechanism } = aesTestKey(ctx, (ctx.mechanismChoice ?? 'gcm') as AesMode, 'decrypt');
  const sizes = ctx.payloads?.dataSizesBytes ?? [MESSAGE_BYTES];
  const seed = randomBytes(SEED_BYTES);
  const template = toTemplate(testKey.template);
  const tables = ctx.tokens.map((t): InputTable => {
    const handle = ctx.lib.C_CreateObject(t.session, template);
    try {
      return { rows: sizes.map((bytes) => tokenCiphertext(ctx, t, handle, key, mechanism, seed, bytes)), dataBytes: [...sizes] };
    } finally {
      ctx.lib.C_DestroyObject(t.session, handle);
    }
  });
  const check: AesDecryptCheck = {
    kind: 'aes',
    seed,
    sha256: Object.fromEntries(sizes.filter((b) => b > KEPT_WHOLE_MAX_BYTES).map((b) => [b, new Uint8Array(hash('sha256', dataFor(seed, 0, b), 'buffer'))])),
  };
  return {
    timed: {
      name: 'decrypt',
      call: 'decrypt',
      mechanism,
      input: 'table',
      key: testKey,
      outputBytes: [MESSAGE_BYTES],
      ...(mechanism.name === 'CKM_AES_GCM' ? { outputSlackBytes: TAG_BYTES } : {}),
    },
    tables,
    check,
    hostPreparation: `a ${ctx.algorithm.bits}-bit test key made on the host, imported into each session; one ciphertext per token${sizes.length > 1 ? ' and data size' : ''}, made by the token with it before the run and decrypted on the host`,
  };
}

/** The plaintext of an AES decryption of `dataBytes` against the data encrypted (a large one as its SHA-256). */
export function checkAesDecrypt(c: AesDecryptCheck, output: Buffer, dataBytes: number): boolean {
  if (dataBytes > KEPT_WHOLE_MAX_BYTES && output.length === KEPT_SHA256_BYTES) return c.sha256[dataBytes] !== undefined && Buffer.from(c.sha256[dataBytes]).equals(output);
  return dataFor(c.seed, 0, dataBytes).equals(output);
}
