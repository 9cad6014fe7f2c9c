import type { RunResult } from './run-result.js';
import { hash } from 'node:crypto';
import pkcs11, { type Template } from 'pkcs11js';
import { NATIVE } from '../core/native-abi.js';
import type { PerCall } from './plan.js';

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

/** The functions a call makes as reports name them: in parts (--multipart), C_*Init, C_*Update per chunk and C_*Final. */
export const functionsOf = (call: OperationCall, multipart: boolean): string =>
  multipart ? ['Init', 'Update', 'Final'].map((part) => `${PKCS11_FUNCTION[call]}${part}`).join('/') : PKCS11_FUNCTION[call];

/**
 * The input of call `sequence`: the 32-byte message (a per-worker seed and the sequence number, so no input
 * repeats), its SHA-256 made on the host (wrapped in a PKCS#1 DigestInfo for raw RSA), a row of the token's table
 * (inputs the host prepared: ciphertexts, signatures, public points; row = sequence modulo the rows), or nothing.
 */
export type InputRecipe = keyof typeof NATIVE.input;

/** A mechanism's parameters, as plain data both engines can build the PKCS#11 structure from. */
export type MechanismParameter =
  | { kind: 'pss'; saltBytes: number }
  | { kind: 'oaep'; hash: 'sha256' | 'sha1' }
  | { kind: 'iv'; iv: Uint8Array }
  | { kind: 'gcm'; iv: Uint8Array; tagBits: number }
  | { kind: 'ecdh'; kdf: number }
  /** --mechanism-params: the bytes of the user's file, passed as pParameter as they are. */
  | { kind: 'raw'; bytes: Uint8Array };

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
  /** derive and keygen: the attribute read back for the host check after the clock stops (CKA_VALUE; CKA_EC_POINT or CKA_MODULUS). */
  readBack?: number;
  /**
   * The sizes (bytes) the call's output may have, made at prepare time from the key (every token's key matches
   * --alg): one for most (an RSA-2048 signature 256, an ECDSA P-256 r‖s 64, a SHA-256 digest 32); an EC point read
   * back may come DER-wrapped or bare. An output of any other size is a failure (WRONG_OUTPUT_SIZE), never checked.
   */
  outputBytes: readonly number[];
  /**
   * Room the output buffer needs beyond the largest output: a module may ask for the input's length (SoftHSM2 2.6
   * decrypting AES-GCM asks room for the 16-byte tag too, else CKR_BUFFER_TOO_SMALL). Absent: none.
   */
  outputSlackBytes?: number;
  /**
   * A mechanism as the user gave it (--mechanism by CKM_ name or number): its outputs are counted and timed, any size
   * of at least one byte (outputBytes is empty), never checked on the host; a verification it rejects is its failure.
   */
  unchecked?: true;
  /**
   * --data-size: the bytes of data each call hands the token (its message, then filler: src/model/message.ts), and
   * --multipart's chunk: the call made as C_*Init, C_*Update per chunk, C_*Final (null: one call). Absent: the message.
   */
  payload?: Payload;
}

export interface Payload {
  dataBytes: number;
  chunkBytes: number | null;
}

/**
 * The buffer every timed call writes its output into: one byte more than the largest output of any operation
 * (an RSA-4096 signature or modulus, 512 bytes). pkcs11js cuts its answer to the buffer, so an output that fills it
 * is one the module reported longer than it was given. Smaller would leave a sign operation active on a token whose
 * output does not fit (the next C_SignInit fails with CKR_OPERATION_ACTIVE).
 */
export const OUTPUT_BUFFER_BYTES = 513;

/**
 * The buffer of a mechanism hsm-bench does not know, whose output size it cannot tell: 64 KiB holds the largest
 * signature of PKCS#11 3.2 (SLH-DSA's, 49,856 bytes); a larger output is CKR_BUFFER_TOO_SMALL at the trial call.
 */
export const UNCHECKED_OUTPUT_BUFFER_BYTES = 65_536;

/**
 * The buffer a workload's calls write into: the usual one, one byte more than the largest output (an encryption of
 * --data-size), or an unchecked mechanism's.
 */
export const outputBufferBytes = (w: Pick<Workload, 'operations'>) =>
  Math.max(
    w.operations.some((op) => op.unchecked) ? UNCHECKED_OUTPUT_BUFFER_BYTES : OUTPUT_BUFFER_BYTES,
    ...w.operations.flatMap((op) => op.outputBytes.map((n) => n + 1 + (op.outputSlackBytes ?? 0))),
  );

/**
 * An output longer than this is kept for the host check as its SHA-256, made after the clock stops: a batch has room
 * for every call's kept output, and a 1 MiB encryption each would not fit. The host rebuilds the output and compares hashes.
 */
export const KEPT_WHOLE_MAX_BYTES = OUTPUT_BUFFER_BYTES - 1;
export const KEPT_SHA256_BYTES = 32;

/** Whether an operation's outputs are kept as their SHA-256 (see KEPT_WHOLE_MAX_BYTES). */
export const keptAsSha256 = (op: Pick<TimedOperation, 'outputBytes'>) => Math.max(...op.outputBytes) > KEPT_WHOLE_MAX_BYTES;

/** Room per call for an output kept for the host check: the largest output of the workload (or its SHA-256; none of an unchecked one). */
export const keptOutputBytes = (w: Workload) => Math.max(0, ...w.operations.map((op) => (keptAsSha256(op) ? KEPT_SHA256_BYTES : Math.max(0, ...op.outputBytes))));

/** Whether an output of `length` bytes is one the operation makes: of an unchecked one, any that holds a byte and fits its buffer. */
export const outputFits = (op: Pick<TimedOperation, 'outputBytes' | 'unchecked'>, length: number) =>
  op.unchecked ? length > 0 && length < UNCHECKED_OUTPUT_BUFFER_BYTES : op.outputBytes.includes(length);

export type TemplateData = { type: number; value: number | boolean | string | Uint8Array }[];

/** A token's table of inputs: `rows[i]` is the call's data, `aux[i]` a second input (verify: the signature). */
export interface InputTable {
  rows: Uint8Array[];
  aux?: Uint8Array[];
  /** --data-size: the data size each row is made of (an AES ciphertext's plaintext); a call takes the rows of its payload's size. */
  dataBytes?: number[];
}

/** The rows a call of `payload` takes: those of its size where the table has rows per size, else all. */
export const rowsFor = (table: InputTable, payload: Payload | undefined): Uint8Array[] =>
  payload === undefined || table.dataBytes === undefined ? table.rows : table.rows.filter((_, i) => table.dataBytes![i] === payload.dataBytes);

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

/** A template attribute as native/timed-loop.c takes it: a number is a CK_ULONG, a boolean a CK_BBOOL, a Buffer its bytes. */
export interface NativeAttribute {
  type: number;
  value: number | boolean | Buffer;
}

/** An operation as native/timed-loop.c takes it (start's spec.operations[i]). */
export interface NativeTimedCall {
  call: number;
  mechanism: number;
  parameter: { kind: number; hashAlg?: number; mgf?: number; saltLen?: number; iv?: Buffer; tagBits?: number; kdf?: number };
  input: number;
  outputBytes: number[];
  /** derive: [the derived key's template]; keygen: [the public key's, the private key's]; none for the others. */
  templates: NativeAttribute[][];
  /** derive and keygen: the attribute read back after the clock stops (-1: none). */
  readBack: number;
}

const nativeTemplate = (t: TemplateData): NativeAttribute[] =>
  t.map((a) => ({ type: a.type, value: typeof a.value === 'string' ? Buffer.from(a.value, 'utf8') : a.value instanceof Uint8Array ? Buffer.from(a.value) : a.value }));

/** A mechanism as given (raw parameters) runs on worker threads only (chooseEngine): reaching the native loop is a bug. */
const notNative = (op: TimedOperation): never => {
  throw new Error(`${op.mechanism.name} as given has no native form`);
};

/** The operation in the codes of native/timed-loop.c (native/abi.json). */
export function nativeTimedCall(op: TimedOperation): NativeTimedCall {
  const p = op.mechanism.parameter;
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
            : p.kind === 'gcm'
              ? { kind: kinds.gcm, iv: Buffer.from(p.iv), tagBits: p.tagBits }
              : p.kind === 'ecdh'
                ? { kind: kinds.ecdh, kdf: p.kdf }
                : notNative(op);
  const t = op.templates;
  const templates = op.call === 'derive' ? [t!.derived!] : op.call === 'keygen' ? [t!.public!, t!.private!] : [];
  return {
    call: NATIVE.call[op.call],
    mechanism: op.mechanism.ckm,
    parameter,
    input: NATIVE.input[op.input],
    outputBytes: [...op.outputBytes],
    templates: templates.map(nativeTemplate),
    readBack: op.readBack ?? -1,
  };
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
  /** --session-per-call, --find-key-per-call: what each call does beyond its operation (absent: session and key pooled). */
  perCall?: PerCall;
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
