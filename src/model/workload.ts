import type { RunResult } from './run-result.js';
import { hash } from 'node:crypto';
import pkcs11, { type Mechanism, type Template } from 'pkcs11js';
import { ckrOf } from './ckr.js';
import { messageFor } from './message.js';
import { NATIVE } from '../core/native-abi.js';

/**
 * The operation seam of the timed loop: what one timed call is, as data, so that the two engines that run the
 * loop (a worker thread per session with pkcs11js, or the native loop of native/timed-loop.c) execute the same call
 * on the same inputs. An operation (src/operations/) declares it once: the PKCS#11 call, its mechanism, the key the
 * session uses, the recipe of the per-call input, and the most bytes the call returns.
 */
export const OPERATION_CALLS = ['sign', 'verify', 'decrypt', 'encrypt', 'digest', 'random', 'derive', 'keygen'] as const;
export type OperationCall = (typeof OPERATION_CALLS)[number];

/** The PKCS#11 function each call times (after its C_…Init where it has one). */
export const PKCS11_FUNCTION: Record<OperationCall, string> = {
  sign: 'C_Sign',
  verify: 'C_Verify',
  decrypt: 'C_Decrypt',
  encrypt: 'C_Encrypt',
  digest: 'C_Digest',
  random: 'C_GenerateRandom',
  derive: 'C_DeriveKey',
  keygen: 'C_GenerateKeyPair',
};

/**
 * The input of call `sequence`: the 32-byte message (a per-worker seed and the sequence number, so no input
 * repeats), its SHA-256 made on the host (wrapped in a PKCS#1 DigestInfo for raw RSA), a row of the token's table
 * (inputs the host prepared: ciphertexts, signatures, public points; row = sequence modulo the rows), or nothing.
 */
export type InputRecipe = keyof typeof NATIVE.input;

/** A mechanism's parameters, as plain data both engines can build the PKCS#11 structure from. */
export type MechanismParameter =
  { kind: 'pss'; saltBytes: number } | { kind: 'oaep'; hash: 'sha256' | 'sha1' } | { kind: 'iv'; iv: Uint8Array } | { kind: 'gcm'; iv: Uint8Array; tagBits: number } | { kind: 'ecdh'; kdf: number };

export interface OperationMechanism {
  name: string;
  ckm: number;
  parameter?: MechanismParameter;
}

/**
 * The key a session calls with: a token object found by class, label and CKA_ID (found again after every
 * reconnect: handles die with sessions), a session object imported into each session (a test key hsm-bench made,
 * so the host can check every result), or none.
 */
export type SessionKey = { kind: 'token-object'; cls: number; label: string } | { kind: 'imported'; template: TemplateData } | { kind: 'none' };

export interface TimedOperation {
  /** The operation's name (sign, decrypt, …), as run.json and the reports say it. */
  name: string;
  call: OperationCall;
  mechanism: OperationMechanism;
  input: InputRecipe;
  key: SessionKey;
  /** keygen: the templates of the session key pair; derive: the template of the derived session key. */
  templates?: { public?: TemplateData; private?: TemplateData; derived?: TemplateData };
  /** keygen: the public attribute read back for the host check (CKA_EC_POINT or CKA_MODULUS). */
  readBack?: number;
  /**
   * The sizes (bytes) the call's output may have, made at prepare time from the key (every token's key matches
   * --alg): one for most (an RSA-2048 signature 256, an ECDSA P-256 r‖s 64, a SHA-256 digest 32); an EC point read
   * back may come DER-wrapped or bare. An output of any other size is a failure (WRONG_OUTPUT_SIZE), never checked.
   */
  outputBytes: readonly number[];
}

/**
 * The buffer every timed call writes its output into: one byte more than the largest output of any operation
 * (an RSA-4096 signature or modulus, 512 bytes). pkcs11js cuts its answer to the buffer, so an output that fills it
 * is one the module reported longer than it was given. Smaller would leave a sign operation active on a token whose
 * output does not fit (the next C_SignInit fails with CKR_OPERATION_ACTIVE).
 */
export const OUTPUT_BUFFER_BYTES = 513;

/** Room per call for an output kept for the host check: the largest output of the workload. */
export const keptOutputBytes = (w: Workload) => Math.max(...w.operations.flatMap((op) => op.outputBytes));

/** Whether an output of `length` bytes is one the operation makes. */
export const outputFits = (op: Pick<TimedOperation, 'outputBytes'>, length: number) => op.outputBytes.includes(length);

export type TemplateData = { type: number; value: number | boolean | string | Uint8Array }[];

/** A token's table of inputs: `rows[i]` is the call's data, `aux[i]` a second input (verify: the signature). */
export interface InputTable {
  rows: Uint8Array[];
  aux?: Uint8Array[];
}

/** The table row of call `sequence` (warm-up calls have negative sequence numbers). */
export const rowOf = (sequence: number, rows: number) => ((sequence % rows) + rows) % rows;

const SHA256_DIGEST_INFO_PREFIX = Buffer.from(NATIVE.sha256DigestInfoPrefix, 'hex');

/** The bytes a message becomes under a host recipe. */
export function hostInput(recipe: 'message' | 'sha256' | 'sha256-digestinfo', message: Buffer): Buffer {
  if (recipe === 'message') return message;
  // One-shot hash: on the timed path, and about 2 µs cheaper than createHash per call.
  const digest = hash('sha256', message, 'buffer');
  return recipe === 'sha256' ? digest : Buffer.concat([SHA256_DIGEST_INFO_PREFIX, digest]);
}

/** A template as data (Uint8Array values, so it crosses to workers) in the form pkcs11js takes. */
export const toTemplate = (t: TemplateData): Template => t.map((a) => ({ type: a.type, value: a.value instanceof Uint8Array ? Buffer.from(a.value) : a.value }));

/** OAEP's hash and mask generation: SHA-256 by default; SoftHSM2 2.6.1 takes only SHA-1. */
export const OAEP_HASH = {
  sha256: { ckm: pkcs11.CKM_SHA256, mgf: pkcs11.CKG_MGF1_SHA256 },
  sha1: { ckm: pkcs11.CKM_SHA_1, mgf: pkcs11.CKG_MGF1_SHA1 },
};

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

export function jsTimedCall(lib: pkcs11.PKCS11, op: TimedOperation, seed: Uint8Array, table: InputTable | null): JsTimedCall {
  const message = Buffer.alloc(32);
  const rows = table?.rows.map((r) => Buffer.from(r)) ?? [];
  const aux = table?.aux?.map((r) => Buffer.from(r)) ?? [];
  const inputOf = (sequence: number): Buffer => {
    if (op.input === 'table') return rows[rowOf(sequence, rows.length)]!;
    if (op.input === 'none') return message.subarray(0, 0);
    return hostInput(op.input, messageFor(seed, sequence, message));
  };
  const mechanism = toPkcs11Mechanism(op.mechanism);
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
            if (code === undefined || !VERIFY_REJECTED.has(code)) throw error;
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
        finish: (session, out) => readAndDestroy(lib, session, [derived], pkcs11.CKA_VALUE, out),
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

/** An operation as native/timed-loop.c takes it (start's spec.operations[i]). */
export interface NativeTimedCall {
  call: number;
  mechanism: number;
  parameter: { kind: number; hashAlg?: number; mgf?: number; saltLen?: number; iv?: Buffer; tagBits?: number };
  input: number;
  outputBytes: number;
}

/** The operation in the codes of native/timed-loop.c (native/abi.json); null for one only worker threads make. */
export function nativeTimedCall(op: TimedOperation): NativeTimedCall | null {
  // derive and keygen read back and destroy what they made: only worker threads make them.
  const call = op.call in NATIVE.call ? NATIVE.call[op.call as keyof typeof NATIVE.call] : undefined;
  const p = op.mechanism.parameter;
  // The native loop checks an output against one size (an EC point read back may have two), and builds no ECDH parameters.
  if (call === undefined || op.outputBytes.length !== 1 || p?.kind === 'ecdh') return null;
  const kinds = NATIVE.parameter;
  const parameter =
    p === undefined
      ? { kind: kinds.none }
      : p.kind === 'pss'
        ? { kind: kinds.pss, hashAlg: pkcs11.CKM_SHA256, mgf: pkcs11.CKG_MGF1_SHA256, saltLen: p.saltBytes }
        : p.kind === 'oaep'
          ? { kind: kinds.oaep, hashAlg: OAEP_HASH[p.hash].ckm, mgf: OAEP_HASH[p.hash].mgf }
          : p.kind === 'iv'
            ? { kind: kinds.iv, iv: Buffer.from(p.iv) }
            : { kind: kinds.gcm, iv: Buffer.from(p.iv), tagBits: p.tagBits };
  return { call, mechanism: op.mechanism.ckm, parameter, input: NATIVE.input[op.input], outputBytes: op.outputBytes[0]! };
}

/**
 * What the timed loop runs: one operation, or several (--mix) drawn call by call in proportion to their weights.
 * The draw is a hash of the worker's seed and the sequence number, the same in both engines (native/timed-loop.c
 * has its twin; test/native-parity.test.ts compares them), so a run's mix is reproducible; each record also says
 * which operation it was.
 */
export interface Workload {
  operations: TimedOperation[];
  /** Cumulative weights: a call whose draw (0 … last − 1) is below cumulative[i] and not below cumulative[i − 1] makes operations[i]. */
  cumulative: number[];
}

/** The first 4 bytes of a worker's seed, as the draw's key. */
export const seedWord = (seed: Uint8Array) => ((seed[0]! << 24) | (seed[1]! << 16) | (seed[2]! << 8) | seed[3]!) >>> 0;

/** The operation of call `sequence` (murmur3's finalizer over the seed word and the 64-bit sequence number). */
export function pickOperation(cumulative: readonly number[], word: number, sequence: number): number {
  if (cumulative.length === 1) return 0;
  let h = (word ^ Math.imul(sequence >>> 0, 0x9e3779b1) ^ Math.imul(Math.floor(sequence / 2 ** 32) | 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  const draw = h % cumulative[cumulative.length - 1]!;
  let i = 0;
  while (draw >= cumulative[i]!) i++;
  return i;
}

/**
 * What a run measured, whole: the operation and algorithm (sign/rsa2048), or every entry of a mix with its weight.
 * Runs compare, trend and gate against each other only when this is the same.
 */
export const workloadOf = (r: Pick<RunResult, 'operation' | 'algorithm'>) =>
  r.operation?.mix ? `mix ${r.operation.mix.map((m) => `${m.name}/${m.algorithm}:${m.weight}`).join(',')}` : `${r.operation?.name ?? 'sign'}/${r.algorithm.id}`;

/** A run's workload as a name (run directories, JUnit suites): the algorithm for signing, as always; op-alg for the others. */
export const workloadId = (operation: string | undefined, algorithmId: string) =>
  operation === undefined || operation === 'sign' ? algorithmId : operation === algorithmId ? operation : `${operation}-${algorithmId}`;
