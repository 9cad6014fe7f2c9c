import { Reference } from '../model/run-result.js';
import type { InputKind } from '../core/input-file.js';
import { readJsonFile } from '../core/json-text.js';
import { shown } from '../core/quote.js';
import { ExitCode, usageError } from '../core/errors.js';

const REFERENCE_FILE: InputKind = { what: 'reference file', maxBytes: 1024 * 1024, exitCode: ExitCode.usage, hint: 'give a JSON file shaped like fixtures/smartcard-hsm-ea-2015.json' };

export function readReference(path: string): Reference {
  const doc = readJsonFile(path, REFERENCE_FILE) as Reference;
  const ok =
    typeof doc?.source === 'string' &&
    Array.isArray(doc.series) &&
    doc.series.every((s) => typeof s.algorithm === 'string' && Array.isArray(s.configurations) && s.configurations.every((c) => Number.isInteger(c.tokens) && typeof c.throughputPerS === 'number'));
  if (!ok)
    throw usageError(`reference file ${shown(path)} is not shaped like fixtures/smartcard-hsm-ea-2015.json`, 'it needs source and series[].algorithm / configurations[].tokens / throughputPerS');
  return doc;
}

/** Reference throughput by token count for one algorithm; empty when the reference has no such series. */
export function referenceThroughput(ref: Reference | undefined, algorithmId: string): Map<number, number> {
  const series = ref?.series.find((s) => s.algorithm === algorithmId);
  return new Map(series?.configurations.map((c) => [c.tokens, c.throughputPerS]) ?? []);
}
