import { readFileSync } from 'node:fs';
import type { ConfigurationResult, RunResult } from '../../src/model/run-result.js';

/** fixtures/run-rsa2048: a real run whose first configuration the comparison tests reshape. */
export const rsa2048Run = (): RunResult => JSON.parse(readFileSync(new URL('../../fixtures/run-rsa2048/run.json', import.meta.url), 'utf8')) as RunResult;

/** The run's first configuration as ten seconds at `throughputPerS`, its per-second counts given (its own noise). */
export const tenSeconds = (base: RunResult, throughputPerS: number, perSecond: number[]): ConfigurationResult => ({
  ...base.configurations[0]!,
  throughputPerS,
  durationS: 10,
  operationsOk: throughputPerS * 10,
  operationsFailed: 0,
  timeSeries: { intervalS: 1, ok: perSecond, failed: perSecond.map(() => 0) },
});
