import { planOf } from '../model/run-result.js';
import { cpus, hostname, totalmem } from 'node:os';
import type { TokenRef } from '../pkcs11/discovery.js';
import { harnessPartOfNumber } from '../stats/harness-overhead.js';
import { SCHEMA_VERSION, type CallOverhead, type ConfigurationResult, type RunResult, type TokenIdentity } from '../model/run-result.js';
import { runFigures } from '../stats/summarize.js';
import { TOOL_VERSION } from '../core/version.js';
import { type RunPlan } from '../model/plan.js';
import type { Reference, StartAtResult } from '../model/run-result.js';
import type { TokenSetup } from './token-setup.js';
import type { PreparedOperation } from '../operations/operation-kind.js';
import { recordableArgs } from '../secrets/command-line.js';
import { shellWord } from '../core/quote.js';

export interface RunIdentity {
  command: RunResult['command'];
  runId: string;
  startedAt: Date;
  /** The command line that started the run (a resumed burn-in keeps its first one). */
  commandLine?: string;
  /** Published results the run is set beside (--reference): kept, so that `report` draws them again. */
  reference?: Reference;
  /** --start-at: the moment given and when the first window opened. */
  startAt?: StartAtResult;
}

/**
 * This process's command line, to reproduce the run, with secrets removed by structure (recordableArgs): hsm-bench
 * refuses PIN flags and PINs in token URIs before anything runs, and what is kept could not carry one anyway. The
 * --out folder is left out: it is where run.json itself lies, a path of the machine the run was made on, and the
 * run reproduces without it.
 */
export const thisCommandLine = () => ['hsm-bench', ...withoutOutputFolder(recordableArgs(process.argv.slice(2)))].map(shellWord).join(' ');

/** Arguments without --out and its value (`--out DIR` or `--out=DIR`). */
export function withoutOutputFolder(args: readonly string[]): string[] {
  return args.filter((arg, i) => !(arg === '--out' || arg.startsWith('--out=') || (args[i - 1] === '--out' && i > 0)));
}

/** What run.json keeps of a token: everything that names it, nothing of the module's handles. */
export const tokenIdentity = (t: TokenRef): TokenIdentity => ({
  slotId: t.slotId,
  slotDescription: t.slotDescription,
  label: t.label,
  manufacturer: t.manufacturer,
  model: t.model,
  serial: t.serial,
  firmwareVersion: t.firmwareVersion,
});

/** run.json as of now: what ran where, with which plan, and the configurations measured so far. */
export function buildRunResult(id: RunIdentity, plan: RunPlan, setup: TokenSetup, configurations: ConfigurationResult[], interrupted: boolean, burnIn?: RunResult['burnIn']): RunResult {
  const a = plan.algorithm;
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: 'hsm-bench', version: TOOL_VERSION },
    command: id.command,
    runId: id.runId,
    commandLine: id.commandLine ?? thisCommandLine(),
    ...(id.reference ? { reference: id.reference } : {}),
    startedAt: id.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    interrupted,
    host: {
      hostname: hostname(),
      platform: process.platform,
      arch: process.arch,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      cpuCount: cpus().length,
      totalMemoryMb: Math.round(totalmem() / 2 ** 20),
      nodeVersion: process.version,
      loadAverage: setup.loadAverage,
    },
    harness: {
      engine: setup.engine.engine,
      concurrency: `${setup.engine.engine === 'native' ? 'the native loop: one pthread per token and thread, sessions opened in the main thread' : 'one worker thread per token and thread, synchronous pkcs11js calls'} (${setup.engine.why}); module instances ${setup.mod.info.instances}`,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      ...(setup.callOverhead ? { callOverheadUs: setup.callOverhead } : {}),
    },
    backend: setup.embedded ? { kind: 'embedded-softhsm2', workspace: setup.embedded.workspace } : { kind: 'module' },
    module: setup.mod.info,
    tokens: setup.tokens.map(tokenIdentity),
    algorithm: { id: a.id, displayName: a.displayName, family: a.family, bits: a.bits, curve: a.family === 'ec' || a.family === 'eddsa' ? a.curve : null },
    operation: operationOf(plan, setup),
    mechanism: {
      name: setup.operations.map((o) => o.timed.mechanism.name).join(' + '),
      hostDigest: setup.operations.length === 1 ? setup.operations[0]!.hostPreparation : 'per operation (see operation.mix)',
      ...asGivenMechanism(setup.operations),
    },
    keyLabel: plan.keyLabel,
    ...(plan.workload[0]!.asGiven?.keyId ? { keyIdHex: Buffer.from(plan.workload[0]!.asGiven.keyId).toString('hex') } : {}),
    plan: planOf(plan),
    ...runFigures(id.command, planOf(plan), withHarnessShare(configurations, setup.callOverhead)),
    ...(burnIn ? { burnIn } : {}),
    ...(id.startAt ? { startAt: id.startAt } : {}),
  };
}

/** Each configuration with whether the harness is part of its number (none without a calibration or a service time). */
const withHarnessShare = (configurations: ConfigurationResult[], overhead: CallOverhead | null): ConfigurationResult[] =>
  overhead === null ? configurations : configurations.map((c) => (c.latencyMs ? { ...c, harnessPartOfNumber: harnessPartOfNumber(c.latencyMs.p50 * 1000, overhead) } : c));

/** A mechanism as given, as run.json keeps it: its code and its parameter's bytes (hex), so that the run can be made again. */
function asGivenMechanism(operations: readonly PreparedOperation[]): Pick<RunResult['mechanism'], 'ckm' | 'parameterHex'> {
  const only = operations.length === 1 ? operations[0]!.timed : undefined;
  if (!only?.unchecked) return {};
  const p = only.mechanism.parameter;
  return { ckm: only.mechanism.ckm, ...(p?.kind === 'raw' ? { parameterHex: Buffer.from(p.bytes).toString('hex') } : {}) };
}

/** run.json's `operation`: the one operation, or the mix with each operation's algorithm, mechanism, key and weight. */
function operationOf(plan: RunPlan, setup: TokenSetup): NonNullable<RunResult['operation']> {
  const skipped = (o: PreparedOperation) => (o.checkSkipped ? { checkSkipped: o.checkSkipped } : {});
  if (setup.operations.length === 1) {
    const only = setup.operations[0]!;
    return { name: only.timed.name, call: only.timed.call, ...skipped(only), ...(only.timed.unchecked ? { hostCheck: 'not-checked' as const } : {}) };
  }
  return {
    name: 'mix',
    call: 'mix',
    mix: plan.workload.map((e, i) => ({
      name: e.operation,
      algorithm: e.algorithm.id,
      mechanism: setup.operations[i]!.timed.mechanism.name,
      keyLabel: setup.operations[i]!.timed.key.kind === 'token-object' ? e.keyLabel : null,
      weight: e.weight,
      ...skipped(setup.operations[i]!),
    })),
  };
}
