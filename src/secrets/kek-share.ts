import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { ExitCode, setupError, usageError } from '../core/errors.js';
import { shown } from '../core/quote.js';
import type { InputKind } from '../core/input-file.js';
import { readJsonFile } from '../core/json-text.js';

/**
 * A key-encryption-key share file: a 256-bit AES key encrypted under a passphrase (scrypt → AES-256-GCM).
 * It plays the role of SmartCard-HSM's DKEK share: the same KEK imported into every token lets them pass
 * private keys to each other wrapped, never in the clear. The passphrase is never a flag, never stored.
 */
interface ShareFile {
  format: 'hsm-bench-kek-share';
  version: 1;
  kdf: { name: 'scrypt'; salt: string; N: number; r: number; p: number };
  cipher: { name: 'aes-256-gcm'; iv: string; tag: string; ciphertext: string };
  /** Key check value: the first 8 bytes of SHA-256 of the key, to tell shares apart without revealing them. */
  kcv: string;
}

const SCRYPT = { N: 1 << 15, r: 8, p: 1 };
const derive = (passphrase: string, salt: Buffer, k = SCRYPT) => scryptSync(passphrase, salt, 32, { N: k.N, r: k.r, p: k.p, maxmem: 64 * 1024 * 1024 });
export const keyCheckValue = (key: Buffer) => createHash('sha256').update(key).digest().subarray(0, 8).toString('hex');

export function createKekShare(path: string, passphrase: string): string {
  if (existsSync(path)) throw usageError(`${shown(path)} exists; a share file is never overwritten`, 'choose a new file name');
  if (passphrase.length < 8) throw usageError('the passphrase must have at least 8 characters');
  const key = randomBytes(32);
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', derive(passphrase, salt), iv);
  const ciphertext = Buffer.concat([cipher.update(key), cipher.final()]);
  const kcv = keyCheckValue(key);
  key.fill(0);
  const share: ShareFile = {
    format: 'hsm-bench-kek-share',
    version: 1,
    kdf: { name: 'scrypt', salt: salt.toString('base64'), ...SCRYPT },
    cipher: { name: 'aes-256-gcm', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ciphertext: ciphertext.toString('base64') },
    kcv,
  };
  writeFileSync(path, JSON.stringify(share, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  return kcv;
}

const SHARE_FILE: InputKind = { what: 'KEK share file', maxBytes: 64 * 1024, exitCode: ExitCode.usage, hint: "make one with 'hsm-bench keys kek create --file FILE'" };

/** Decrypts a share; the caller zeroes the returned key as soon as it is inside the tokens. */
export function openKekShare(path: string, passphrase: string): { key: Buffer; kcv: string } {
  const share = readJsonFile(path, SHARE_FILE) as ShareFile;
  if (typeof share !== 'object' || share === null || share.format !== 'hsm-bench-kek-share' || share.version !== 1) throw usageError(`${shown(path)} is not an hsm-bench KEK share file (version 1)`);
  const decipher = createDecipheriv('aes-256-gcm', derive(passphrase, Buffer.from(share.kdf.salt, 'base64'), share.kdf), Buffer.from(share.cipher.iv, 'base64'));
  decipher.setAuthTag(Buffer.from(share.cipher.tag, 'base64'));
  try {
    const key = Buffer.concat([decipher.update(Buffer.from(share.cipher.ciphertext, 'base64')), decipher.final()]);
    return { key, kcv: share.kcv };
  } catch {
    throw setupError(`wrong passphrase for ${shown(path)} (or the file was altered)`, 'check the passphrase in HSM_BENCH_KEK_PASSPHRASE');
  }
}
