import { operationByName } from '../operations/registry.js';
import type { RunResult } from '../result/run-result.js';

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
}

/** Runs made before operations have no `operation`: they signed. */
export function wordsOf(r: Pick<RunResult, 'operation' | 'algorithm'>): OperationWords {
  const op = operationByName(r.operation?.name ?? 'sign');
  return {
    noun: op.noun,
    nouns: op.nouns,
    Nouns: op.nouns[0]!.toUpperCase() + op.nouns.slice(1),
    rate: op.name === 'sign' ? 'sig/s' : `${op.nouns}/s`,
    title: op.title(r.algorithm),
  };
}

/** A run's workload as a name (run directories, JUnit suites): the algorithm for signing, as always; op-alg for the others. */
export const workloadId = (operation: string | undefined, algorithmId: string) => (operation === undefined || operation === 'sign' ? algorithmId : `${operation}-${algorithmId}`);
