import type { KeyObject } from 'node:crypto';
import pkcs11 from 'pkcs11js';
import { setupError } from '../core/errors.js';
import { toTemplate, type InputTable, type OperationCall, type TimedOperation } from '../model/workload.js';
import { ckrCode, ckrOf, describe } from '../model/ckr.js';
import type { Algorithm } from '../model/algorithms.js';
import type { KeyUsage } from '../pkcs11/keys.js';
import { mechanismNames } from '../pkcs11/mechanisms.js';

/** A token as an operation sees it while it prepares, in the main thread, on the session the token logged in with. */
export interface PrepareToken {
  name: string;
  session: Buffer;
  mechanisms: readonly number[];
  /** The key pair labelled --key-label, for operations that use one. */
  keyPair?: { privateKey: Buffer; publicKey: KeyObject };
}

export interface PrepareContext {
  lib: pkcs11.PKCS11;
  algorithm: Algorithm;
  /** --mechanism, already checked against the operation's choices; undefined for the first choice. */
  mechanismChoice: string | undefined;
  keyLabel: string;
  tokens: PrepareToken[];
  /** --data-size and --multipart: every size the run hands a call, and the chunk (null: the 32-byte message, one call). */
  payloads: { dataSizesBytes: readonly number[]; chunkBytes: number | null } | null;
}

/** What an operation hands the engines and the host check, made once per run in the main thread. */
export interface PreparedOperation {
  timed: TimedOperation;
  /** Per token of the run: the inputs its calls take in turn, or null where the input is not a table. */
  tables: (InputTable | null)[];
  /** What the verification threads need to check any output (structured-cloneable: no functions). */
  check: unknown;
  /** Why the outputs cannot be checked on the host, where they cannot: reported, never silent. */
  checkSkipped?: string;
  /** What the host does to each input before the call, for run.json and the report ('none' when nothing). */
  hostPreparation: string;
}

/**
 * One operation hsm-bench measures: adding one is a file of this shape and a line in the registry. Everything
 * else (engines, records, verification threads, reports, thresholds) takes it from here.
 */
export interface OperationKind {
  name: string;
  /** The PKCS#11 call it times (an HMAC is a C_Sign). */
  call: OperationCall;
  /** How the host checks an output, as reports say it: "verified on the host against each token's public key". */
  checked: string;
  /** 'signature', 'signatures': reports say "Signatures/s", "3 signatures failed". */
  noun: string;
  nouns: string;
  /** What a report's title calls the workload: "ECDSA P-256", "RSA-2048 decryption", "ECDH brainpoolP256r1". */
  title(alg: Pick<Algorithm, 'displayName'>): string;
  /** The --alg values it takes; the first is the default. */
  algorithms: readonly string[];
  /** --mechanism values per algorithm family; the first is the default. */
  mechanismChoices(alg: Algorithm): readonly string[];
  /**
   * The --mechanism value of a PKCS#11 mechanism given by name or number that the operation makes itself, with the
   * parameters it builds, measured and checked as that value (derive's ECDH variants: their parameter points to the
   * peer's public point, which no file can hold); undefined: the mechanism is passed as given, unchecked.
   */
  mechanismOfCode?(ckm: number): string | undefined;
  /** The usage of the token key pair it uses with `alg` (found by --key-label), undefined when it uses none; the pair must allow it (CKA_DECRYPT, CKA_DERIVE…): checked before the run, with what to do. */
  keyUsage?(alg: Pick<Algorithm, 'family'>): KeyUsage | undefined;
  /**
   * The sizes an output can have with `alg` and the run's mechanism (its name): any other is WRONG_OUTPUT_SIZE. The
   * engines take it from `prepare`, reports from here, so the size a report names is the one the run checked.
   */
  outputBytes(alg: Pick<Algorithm, 'family' | 'bits'>, mechanism: string, dataBytes?: number): readonly number[];
  /**
   * --data-size: why this operation cannot hand the token `bytes` of data with its mechanism choice (undefined: it
   * can). Absent where its input is not data handed whole (a key-bound plaintext, a signature, a point); where
   * `dataSizeRefusal` gives a reason for the mechanism choice (an RSA decryption's), that is the message of exit 2.
   */
  dataSizeProblem?(mechanismChoice: string, bytes: number): string | undefined;
  dataSizeRefusal?(mechanismChoice: string): string | undefined;
  prepare(ctx: PrepareContext): PreparedOperation;
  /**
   * The host check of one output; `seed` and `sequence` rebuild the call's message where the input was one, of
   * `dataBytes` with --data-size (src/model/message.ts: dataFor). An output longer than KEPT_WHOLE_MAX_BYTES comes
   * as its SHA-256 (src/model/workload.ts), except in the trial call, which checks it whole.
   */
  check(data: unknown, token: number, seed: Uint8Array, sequence: number, output: Buffer, dataBytes?: number): boolean;
}

/** The first candidate every token lists in C_GetMechanismList, or exit 3 naming what is missing. */
export function requireMechanism<T extends { ckm: number; name: string }>(what: string, candidates: readonly T[], tokens: readonly PrepareToken[]): T {
  const found = candidates.find((c) => tokens.every((t) => t.mechanisms.includes(c.ckm)));
  if (found) return found;
  const lacking = tokens.find((t) => !candidates.some((c) => t.mechanisms.includes(c.ckm))) ?? tokens[0]!;
  throw setupError(
    `token ${lacking.name} cannot ${what}: it offers none of ${candidates.map((c) => c.name).join(', ')}`,
    `its mechanisms: ${mechanismNames(lacking.mechanisms).join(', ') || 'none'}; choose another --op, --mechanism or other tokens`,
  );
}

/** A session object of the run's test key, imported into each session (CKA_TOKEN false: it never stays on a token). */
export function sessionSecretKey(keyType: number, value: Uint8Array, usage: number[]) {
  return {
    kind: 'imported' as const,
    template: [
      { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
      { type: pkcs11.CKA_KEY_TYPE, value: keyType },
      { type: pkcs11.CKA_TOKEN, value: false },
      { type: pkcs11.CKA_LABEL, value: 'hsm-bench test key' },
      { type: pkcs11.CKA_VALUE, value },
      ...usage.map((type) => ({ type, value: true })),
    ],
  };
}

/** The key pair's private key as each session finds it again. */
export const privateKeyOf = (label: string) => ({ kind: 'token-object' as const, cls: pkcs11.CKO_PRIVATE_KEY, label });

/**
 * Imports the run's test key once into each token's session, read-only as the run's sessions are, and deletes it: a
 * token that refuses (tpm2-pkcs11 creates no object at all in a read-only session, and no secret key in any) is
 * exit 3 here with why, not a run that fails once it has started. A refusal in the read-only session is tried once in
 * a read-write one, only to tell the user which of the two the token refuses; a session object never stays on a token.
 */
export function checkTestKeyImport(ctx: PrepareContext, key: ReturnType<typeof sessionSecretKey>, keyName: string): void {
  // keyName with its article: 'a 256-bit HMAC key'.
  const template = toTemplate(key.template);
  const createIn = (session: Buffer) => ctx.lib.C_DestroyObject(session, ctx.lib.C_CreateObject(session, template));
  for (const t of ctx.tokens) {
    try {
      createIn(t.session);
      continue;
    } catch (error) {
      if (ckrOf(error) === undefined) throw error;
      const refusal = `token ${t.name} refuses hsm-bench's test key as a session object in a read-only session (${describe(error)})`;
      if (ckrOf(error) !== ckrCode('CKR_SESSION_READ_ONLY')) {
        throw setupError(refusal, `it does not take ${keyName} made on the host; this operation cannot be measured on it with a test key: choose another --op`, error);
      }
      const readWrite = ctx.lib.C_OpenSession(ctx.lib.C_GetSessionInfo(t.session).slotID, pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION);
      let inReadWrite: unknown;
      try {
        createIn(readWrite);
      } catch (e) {
        inReadWrite = e;
      } finally {
        ctx.lib.C_CloseSession(readWrite);
      }
      throw setupError(
        inReadWrite === undefined
          ? `${refusal}, although PKCS#11 lets read-only sessions make session objects; it takes the key only in a read-write session`
          : `${refusal}, and in a read-write session too (${describe(inReadWrite)})`,
        inReadWrite === undefined
          ? 'hsm-bench measures in read-only sessions, so that a measurement can write nothing to a token: this operation cannot be measured on this token; choose another --op'
          : `it does not take ${keyName} made on the host in a read-only or a read-write session: this operation cannot be measured on it with a test key; choose another --op`,
        error,
      );
    }
  }
}
