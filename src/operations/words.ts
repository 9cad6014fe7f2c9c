import { operationByName } from './registry.js';
import type { RunResult } from '../model/run-result.js';

/** How reports name what a run measured: its operation's words ("signatures", "Decryptions/s"), for every renderer. */
export interface OperationWords {
  /** 'signature' */
  noun: string;
  /** 'signatures' */
  nouns: string;
  /** 'Signatures' */
  Nouns: string;
  /** The short rate unit of tables and charts: 'sig/s' for signatures (as always), 'decryptions/s' for the others. */
  rate: string;
  /** "ECDSA P-256", "RSA-2048 decryption": the workload in titles. */
  title: string;
  /** The PKCS#11 call each measured operation makes: "C_Sign". */
  call: string;
  /** How the host checks an output: "verified on the host against each token's public key". */
  checked: string;
}

const CALLS: Record<string, string> = {
  sign: 'C_Sign',
  verify: 'C_Verify',
  decrypt: 'C_Decrypt',
  encrypt: 'C_Encrypt',
  digest: 'C_Digest',
  random: 'C_GenerateRandom',
  derive: 'C_DeriveKey',
  keygen: 'C_GenerateKeyPair',
};

const CHECKS: Record<string, string> = {
  sign: "verified on the host against each token's public key",
  verify: 'checked on the host against the answer expected of each signature (1 in 8 spoiled on purpose)',
  decrypt: 'checked on the host against the plaintext encrypted',
  encrypt: "decrypted on the host with the run's test key and compared",
  mac: "recomputed on the host with the run's test key",
  digest: 'recomputed on the host',
  random: 'checked on the host for length and repetition',
  derive: "checked on the host against its own ECDH with the token's public key",
  keygen: 'checked on the host (modulus size, point on the curve)',
};

/** The plural a count of an operation's calls goes with ('signatures'; 'operations' for a mix). */
export const nounsOf = (operation: string) => (operation === 'mix' ? 'operations' : operationByName(operation).nouns);

/** Runs made before operations have no `operation`: they signed. */
export function wordsOf(r: Pick<RunResult, 'operation' | 'algorithm'>): OperationWords {
  const mix = r.operation?.mix;
  if (mix) {
    return {
      noun: 'operation',
      nouns: 'operations',
      Nouns: 'Operations',
      rate: 'ops/s',
      title: `mix ${mix.map((m) => `${m.name}${m.name === m.algorithm || ['digest', 'random', 'mac'].includes(m.name) ? '' : `/${m.algorithm}`}:${m.weight}`).join(' ')}`,
      call: mix.map((m) => CALLS[operationByName(m.name).name === 'mac' ? 'sign' : m.name] ?? m.name).join(' / '),
      checked: 'checked on the host, each by its own operation’s check',
    };
  }
  const op = operationByName(r.operation?.name ?? 'sign');
  return {
    noun: op.noun,
    nouns: op.nouns,
    Nouns: op.nouns[0]!.toUpperCase() + op.nouns.slice(1),
    rate: op.name === 'sign' ? 'sig/s' : `${op.nouns}/s`,
    title: op.title(r.algorithm),
    call: CALLS[r.operation?.call ?? 'sign'] ?? 'C_Sign',
    checked: CHECKS[op.name]!,
  };
}
