import pkcs11, { type Mechanism } from 'pkcs11js';
import { ckrOf } from '../model/ckr.js';
import { dataBufferFor, messageFor } from '../model/message.js';
import { hostInput, OAEP_HASH, rowOf, rowsFor, toTemplate, type InputTable, type OperationMechanism, type TimedOperation } from '../model/workload.js';

/**
 * The timed call of an operation through pkcs11js, as the worker-thread engine and the trial call make it: the
 * operation's description (src/model/workload.ts) turned into PKCS#11 calls.
 */

/** The pkcs11js form of an operation's mechanism, for a call whose per-call part (an ECDH public point) is `data`. */
export function toPkcs11Mechanism(m: OperationMechanism, data?: Buffer): Mechanism {
  const p = m.parameter;
  if (p === undefined) return { mechanism: m.ckm };
  switch (p.kind) {
    case 'pss': {
      const parameter: pkcs11.RsaPSS = { type: pkcs11.CK_PARAMS_RSA_PSS, hashAlg: pkcs11.CKM_SHA256, mgf: pkcs11.CKG_MGF1_SHA256, saltLen: p.saltBytes };
      return { mechanism: m.ckm, parameter };
    }
    case 'oaep': {
      // source 1 = CKZ_DATA_SPECIFIED with no label (pkcs11js has no constant; 0 is refused by SoftHSM2).
      const parameter: pkcs11.RsaOAEP = { type: pkcs11.CK_PARAMS_RSA_OAEP, hashAlg: OAEP_HASH[p.hash].ckm, mgf: OAEP_HASH[p.hash].mgf, source: 1 };
      return { mechanism: m.ckm, parameter };
    }
    case 'iv':
      return { mechanism: m.ckm, parameter: Buffer.from(p.iv) };
    case 'gcm': {
      // The v2.40 structure: pkcs11js leaves ulIvBits unset with CK_PARAMS_AES_GCM.
      const parameter: pkcs11.AesGCM = { type: pkcs11.CK_PARAMS_AES_GCM_v240, iv: Buffer.from(p.iv), ivBits: p.iv.length * 8, tagBits: p.tagBits };
      return { mechanism: m.ckm, parameter };
    }
    case 'raw':
      return { mechanism: m.ckm, parameter: Buffer.from(p.bytes) };
    case 'ecdh': {
      const parameter: pkcs11.ECDH1 = { type: pkcs11.CK_PARAMS_EC_DH, kdf: p.kdf, publicData: data! };
      return { mechanism: m.ckm, parameter };
    }
  }
}

/**
 * The operation's timed call in a pkcs11js loop. `call` is what is timed and returns the output's length as the
 * module reported it (cut to `out`'s length by pkcs11js; 0 for a call whose output comes after: `finish`); `finish`,
 * after the clock stopped, reads back what the call made on the token (a derived secret, a generated public key)
 * into `out`, destroys it, and returns the length the token gave, or null where the token will not show it (a
 * sensitive derived secret: the output is not checked, and says so).
 */
export interface JsTimedCall {
  call(session: Buffer, key: Buffer | null, sequence: number, out: Buffer): number;
  finish?(session: Buffer, out: Buffer): number | null;
}

/** C_Verify's answer as the one output byte: the host checks it against the answer expected of the row. */
const VERIFY_REJECTED = new Set([pkcs11.CKR_SIGNATURE_INVALID, pkcs11.CKR_SIGNATURE_LEN_RANGE]);

/**
 * A call in parts (--multipart): C_*Init, then C_*Update per chunk of the data, then C_*Final, each output appended
 * to `out`; the length made. Made for sign (HMAC, hash-in-token signing), digest, encrypt and decrypt: the calls that take data.
 */
export function multipartCall(lib: pkcs11.PKCS11, call: MultipartCall, mechanism: Mechanism, chunkBytes: number) {
  return (session: Buffer, key: Buffer | null, data: Buffer, out: Buffer): number => {
    const chunks = (each: (chunk: Buffer) => void) => {
      for (let at = 0; at < data.length; at += chunkBytes) each(data.subarray(at, Math.min(at + chunkBytes, data.length)));
    };
    if (call === 'sign') {
      lib.C_SignInit(session, mechanism, key!);
      chunks((c) => lib.C_SignUpdate(session, c));
      return lib.C_SignFinal(session, out).length;
    }
    if (call === 'digest') {
      lib.C_DigestInit(session, mechanism);
      chunks((c) => lib.C_DigestUpdate(session, c));
      return lib.C_DigestFinal(session, out).length;
    }
    let made = 0;
    if (call === 'decrypt') {
      lib.C_DecryptInit(session, mechanism, key!);
      chunks((c) => (made += lib.C_DecryptUpdate(session, c, out.subarray(made)).length));
      return made + lib.C_DecryptFinal(session, out.subarray(made)).length;
    }
    lib.C_EncryptInit(session, mechanism, key!);
    chunks((c) => (made += lib.C_EncryptUpdate(session, c, out.subarray(made)).length));
    return made + lib.C_EncryptFinal(session, out.subarray(made)).length;
  };
}

/** The calls that have a multi-part form (C_*Update, C_*Final). */
export const MULTIPART_CALLS = ['sign', 'digest', 'encrypt', 'decrypt'] as const;
type MultipartCall = (typeof MULTIPART_CALLS)[number];
const isMultipart = (call: string): call is MultipartCall => (MULTIPART_CALLS as readonly string[]).includes(call);

export function jsTimedCall(lib: pkcs11.PKCS11, op: TimedOperation, seed: Uint8Array, table: InputTable | null): JsTimedCall {
  // --data-size: the session's data buffer, whose head each call rewrites with its message.
  const message = op.payload === undefined ? Buffer.alloc(32) : dataBufferFor(seed, op.payload.dataBytes);
  const rows = table === null ? [] : rowsFor(table, op.payload).map((r) => Buffer.from(r));
  const aux = table?.aux?.map((r) => Buffer.from(r)) ?? [];
  const inputOf = (sequence: number): Buffer => {
    if (op.input === 'table') return rows[rowOf(sequence, rows.length)]!;
    if (op.input === 'none') return message.subarray(0, 0);
    return hostInput(op.input, messageFor(seed, sequence, message));
  };
  const mechanism = toPkcs11Mechanism(op.mechanism);
  const chunkBytes = op.payload?.chunkBytes ?? null;
  if (chunkBytes !== null) {
    if (!isMultipart(op.call)) throw new Error(`${op.call} has no multi-part form`);
    const inParts = multipartCall(lib, op.call, mechanism, chunkBytes);
    return { call: (session, key, sequence, out) => inParts(session, key, inputOf(sequence), out) };
  }
  switch (op.call) {
    case 'sign':
      return {
        call: (session, key, sequence, out) => {
          const data = inputOf(sequence);
          lib.C_SignInit(session, mechanism, key!);
          return lib.C_Sign(session, data, out).length;
        },
      };
    case 'verify':
      return {
        call: (session, key, sequence, out) => {
          const data = inputOf(sequence);
          const signature = aux[rowOf(sequence, aux.length)]!;
          lib.C_VerifyInit(session, mechanism, key!);
          try {
            out[0] = lib.C_Verify(session, data, signature) ? 1 : 0;
          } catch (error) {
            const code = ckrOf(error);
            // Unchecked, every signature is one the token made: a rejection is the call's failure, with its CKR.
            if (code === undefined || !VERIFY_REJECTED.has(code) || op.unchecked) throw error;
            out[0] = 0;
          }
          return 1;
        },
      };
    case 'decrypt':
      return {
        call: (session, key, sequence, out) => {
          const data = inputOf(sequence);
          lib.C_DecryptInit(session, mechanism, key!);
          return lib.C_Decrypt(session, data, out).length;
        },
      };
    case 'encrypt':
      return {
        call: (session, key, sequence, out) => {
          const data = inputOf(sequence);
          lib.C_EncryptInit(session, mechanism, key!);
          return lib.C_Encrypt(session, data, out).length;
        },
      };
    case 'digest':
      return {
        call: (session, _key, sequence, out) => {
          const data = inputOf(sequence);
          lib.C_DigestInit(session, mechanism);
          return lib.C_Digest(session, data, out).length;
        },
      };
    case 'random':
      return {
        call: (session, _key, _sequence, out) => {
          // The length asked is the length made: C_GenerateRandom reports none.
          const length = op.outputBytes[0]!;
          lib.C_GenerateRandom(session, out.subarray(0, length));
          return length;
        },
      };
    case 'derive': {
      const template = toTemplate(op.templates!.derived!);
      let derived: Buffer | null = null;
      return {
        call: (session, key, sequence) => {
          derived = lib.C_DeriveKey(session, toPkcs11Mechanism(op.mechanism, inputOf(sequence)), key!, template);
          return 0;
        },
        finish: (session, out) => readAndDestroy(lib, session, [derived], op.readBack!, out),
      };
    }
    case 'keygen': {
      const publicTemplate = toTemplate(op.templates!.public!);
      const privateTemplate = toTemplate(op.templates!.private!);
      let made: { publicKey: Buffer; privateKey: Buffer } | null = null;
      return {
        call: (session) => {
          made = lib.C_GenerateKeyPair(session, mechanism, publicTemplate, privateTemplate);
          return 0;
        },
        finish: (session, out) => readAndDestroy(lib, session, [made!.publicKey, made!.privateKey], op.readBack!, out),
      };
    }
  }
}

/**
 * Reads one attribute of the first object into `out` and returns its length as the token gave it (copied only if it
 * fits; null where the token will not show it: a sensitive derived secret, so the host check is skipped, never
 * faked), and destroys every object: nothing made is left on the token.
 */
function readAndDestroy(lib: pkcs11.PKCS11, session: Buffer, objects: (Buffer | null)[], type: number, out: Buffer): number | null {
  let length: number | null = null;
  try {
    const value = lib.C_GetAttributeValue(session, objects[0]!, [{ type }])[0]!.value as Buffer;
    length = value.length;
    if (length <= out.length) value.copy(out);
  } catch {
    length = null;
  } finally {
    for (const o of objects) if (o !== null) lib.C_DestroyObject(session, o);
  }
  return length;
}
