import { operationByName } from './registry.js';
import type { RunResult } from '../model/run-result.js';
import { functionsOf } from '../model/workload.js';

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
  /** The PKCS#11 calls each measured operation makes: "C_Sign"; in parts "C_SignInit/C_SignUpdate/C_SignFinal". */
  call: string;
  /** How the host checks an output: "verified on the host against each token's public key". */
  checked: string;
  /** Whether the token's key pair (found by its label) is used, so that reports name it. */
  usesKeyPair: boolean;
}

/** What reports say of the outputs of a mechanism given by PKCS#11 name or number. */
export const NOT_CHECKED = 'not checked on the host';

/** The plural a count of an operation's calls goes with ('signatures'; 'operations' for a mix). */
export const nounsOf = (operation: string) => (operation === 'mix' ? 'operations' : operationByName(operation).nouns);

/** Runs made before operations have no `operation`: they signed. `plan`: whether the calls were made in parts. */
export function wordsOf(r: Pick<RunResult, 'operation' | 'algorithm'> & { plan?: Pick<RunResult['plan'], 'multipartChunkBytes'> }): OperationWords {
  const mix = r.operation?.mix;
  const multipart = r.plan?.multipartChunkBytes !== undefined;
  if (mix) {
    return {
      noun: 'operation',
      nouns: 'operations',
      Nouns: 'Operations',
      rate: 'ops/s',
      // An operation that takes one algorithm only (digest, random, mac) goes without it.
      title: `mix ${mix.map((m) => `${m.name}${operationByName(m.name).algorithms.length === 1 ? '' : `/${m.algorithm}`}:${m.weight}`).join(' ')}`,
      call: mix.map((m) => functionsOf(operationByName(m.name).call, multipart)).join(' / '),
      checked: 'checked on the host, each by its own operation’s check',
      // Each operation of a mix names its own key (run.json's operation.mix, the per-operation table).
      usesKeyPair: false,
    };
  }
  const op = operationByName(r.operation?.name ?? 'sign');
  // A mechanism as given: the title says the operation and that nothing was checked (the mechanism follows it).
  const notChecked = r.operation?.hostCheck === 'not-checked';
  return {
    noun: op.noun,
    nouns: op.nouns,
    Nouns: op.nouns[0]!.toUpperCase() + op.nouns.slice(1),
    rate: op.name === 'sign' ? 'sig/s' : `${op.nouns}/s`,
    title: notChecked ? `${op.name} (${NOT_CHECKED})` : op.title(r.algorithm),
    call: functionsOf(op.call, multipart),
    checked: notChecked ? NOT_CHECKED : op.checked,
    usesKeyPair: op.keyUsage?.(r.algorithm) !== undefined || notChecked,
  };
}
