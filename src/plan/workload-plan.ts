import { WorkloadEntry } from '../model/plan.js';
import type { FieldNames, PlanInput } from '../model/plan-input.js';
import { flagOf } from './plan-flags.js';
import { HsmBenchError, usageError } from '../core/errors.js';
import { operationByName } from '../operations/registry.js';
import { algorithmById } from '../model/algorithms.js';
import { defaultKeyLabel } from '../pkcs11/keys.js';
import { quote } from '../core/quote.js';
import { NATIVE } from '../core/native-abi.js';

/** More operations than this in one mix is a typo, not a workload. */
export const MAX_MIX_ENTRIES = NATIVE.maxOperations;

/** An operation or algorithm by its name, an unknown one said at the field that named it. */
function known<T>(field: string, find: () => T): T {
  try {
    return find();
  } catch (error) {
    if (error instanceof HsmBenchError) throw usageError(`${field}: ${error.message}`, error.hint);
    throw error;
  }
}

/** --op (and --alg, --mechanism, --key-label) as the one entry of a workload. */
export function singleOperation(o: Pick<PlanInput, 'op' | 'alg' | 'mechanism' | 'keyLabel'>, name: FieldNames = flagOf): WorkloadEntry {
  const op = known(name('op'), () => operationByName(o.op ?? 'sign'));
  const algorithm = known(name('alg'), () => algorithmById(o.alg ?? op.algorithms[0]!));
  if (!op.algorithms.includes(algorithm.id)) throw usageError(`${name('op')} ${op.name} does not take ${name('alg')} ${algorithm.id}`, `use one of: ${op.algorithms.join(', ')}`);
  const mechanisms = op.mechanismChoices(algorithm);
  if (o.mechanism !== undefined && !mechanisms.includes(o.mechanism)) {
    throw usageError(
      `${name('mechanism')} ${quote(o.mechanism!)} does not apply to ${op.name === 'sign' ? algorithm.displayName : `${op.name} with ${algorithm.displayName}`}`,
      `use one of: ${mechanisms.join(', ')}`,
    );
  }
  return { operation: op.name, algorithm, mechanismChoice: o.mechanism ?? mechanisms[0]!, keyLabel: o.keyLabel ?? defaultKeyLabel(algorithm, op.keyUsage), weight: 1 };
}

/**
 * --mix OP[/ALG][:WEIGHT],…: each entry an operation, its algorithm (else --alg where the operation takes it, else
 * its own default) and its weight (default 1). Each uses its default mechanism and the default key label of its
 * algorithm and usage (hsm-bench-rsa2048, hsm-bench-rsa2048-decrypt…), as `keys create --usage` makes them.
 */
export function parseMix(value: string, alg: string | undefined, name: FieldNames = flagOf): WorkloadEntry[] {
  const mix = name('mix');
  const hint = 'for example sign:80,decrypt:20 (with the algorithm rsa2048), or sign/p256:9,derive/p256:1';
  const entries = value.split(',').map((part) => {
    const m = /^\s*([a-z]+)(?:\/([a-z0-9-]+))?(?::(\d{1,7}))?\s*$/.exec(part);
    if (!m) throw usageError(`${mix} entry ${quote(part)} is not OP[/ALG][:WEIGHT]`, hint);
    const op = known(mix, () => operationByName(m[1]!));
    const chosen = m[2] ?? (alg !== undefined && op.algorithms.includes(alg) ? alg : op.algorithms[0]!);
    const entry = singleOperation({ op: op.name, alg: chosen }, name);
    const weight = m[3] === undefined ? 1 : Number(m[3]);
    if (weight < 1) throw usageError(`${mix} entry ${quote(part.trim())} has weight 0`, 'weights are whole numbers from 1; leave the operation out instead');
    return { ...entry, weight };
  });
  if (entries.length < 2) throw usageError(`${mix} needs at least two operations`, `for one operation use ${name('op')}; ${hint}`);
  if (entries.length > MAX_MIX_ENTRIES) throw usageError(`${mix} has ${entries.length} operations; hsm-bench mixes at most ${MAX_MIX_ENTRIES}`);
  // One entry per operation: results, records and reports are kept per operation.
  const names = entries.map((e) => e.operation);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw usageError(`${mix} names ${twice} twice`, 'give each operation once, with its whole weight; measure another algorithm in a run of its own');
  if (alg !== undefined && !entries.some((e) => e.algorithm.id === alg)) {
    throw usageError(`${name('alg')} ${quote(alg)} fits no operation of the mix`, `give ${name('alg')} an algorithm one of them takes, or give each its own: sign/p256:9,derive/p256:1`);
  }
  return entries;
}

/** What a plan measures, as workloadOf (src/operations/words.ts) says it of a run: sign/rsa2048, or mix sign/rsa2048:80,… */
export const workloadOfPlan = (entries: readonly WorkloadEntry[]) =>
  entries.length > 1 ? `mix ${entries.map((e) => `${e.operation}/${e.algorithm.id}:${e.weight}`).join(',')}` : `${entries[0]!.operation}/${entries[0]!.algorithm.id}`;
