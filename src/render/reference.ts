import { readFileSync } from 'node:fs';
import { usageError } from '../errors.js';

/** Published results to set beside a run, e.g. fixtures/smartcard-hsm-ea-2015.json (the founding experiment). */
export interface Reference {
  source: string;
  tokenModel: string;
  series: { algorithm: string; configurations: { tokens: number; signatures: number; durationS: number; throughputPerS: number }[] }[];
}

export function readReference(path: string): Reference {
  let doc: Reference;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw usageError(`cannot read reference file ${path}: ${(error as Error).message}`, 'give a JSON file shaped like fixtures/smartcard-hsm-ea-2015.json');
  }
  const ok =
    typeof doc?.source === 'string' &&
    Array.isArray(doc.series) &&
    doc.series.every((s) => typeof s.algorithm === 'string' && Array.isArray(s.configurations) && s.configurations.every((c) => Number.isInteger(c.tokens) && typeof c.throughputPerS === 'number'));
  if (!ok) throw usageError(`reference file ${path} is not shaped like fixtures/smartcard-hsm-ea-2015.json`, 'it needs source and series[].algorithm / configurations[].tokens / throughputPerS');
  return doc;
}

/** Reference throughput by token count for one algorithm; empty when the reference has no such series. */
export function referenceThroughput(ref: Reference | undefined, algorithmId: string): Map<number, number> {
  const series = ref?.series.find((s) => s.algorithm === algorithmId);
  return new Map(series?.configurations.map((c) => [c.tokens, c.throughputPerS]) ?? []);
}
