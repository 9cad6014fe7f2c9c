import type { KeyObject } from 'node:crypto';
import pkcs11 from 'pkcs11js';
import { setupError } from '../errors.js';
import type { InputTable, TimedOperation } from '../engine/operation.js';
import type { Algorithm } from '../pkcs11/algorithms.js';
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
  /** 'signature', 'signatures': reports say "Signatures/s", "3 signatures failed". */
  noun: string;
  nouns: string;
  /** What a report's title calls the workload: "ECDSA P-256", "RSA-2048 decryption", "ECDH brainpoolP256r1". */
  title(alg: Pick<Algorithm, 'displayName'>): string;
  /** The --alg values it takes; the first is the default. */
  algorithms: readonly string[];
  /** --mechanism values per algorithm family; the first is the default. */
  mechanismChoices(alg: Algorithm): readonly string[];
  /** The usage of the token key pair it uses (found by --key-label), absent when it uses none; the pair must allow it (CKA_DECRYPT, CKA_DERIVE…): checked before the run, with what to do. */
  keyUsage?: KeyUsage;
  prepare(ctx: PrepareContext): PreparedOperation;
  /** The host check of one output; `seed` and `sequence` rebuild the call's message where the input was one. */
  check(data: unknown, token: number, seed: Uint8Array, sequence: number, output: Buffer): boolean;
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
