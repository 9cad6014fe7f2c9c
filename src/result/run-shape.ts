import type { RunResult } from '../model/run-result.js';
import { schemaProblems } from './schemas.js';

/**
 * The top-level fields of a run.json that do not have the shape renderers rely on: a hand-edited, truncated or
 * foreign file is reported by field instead of failing somewhere inside a renderer.
 */
export function runShapeProblems(doc: unknown): string[] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return ['the document is not a JSON object'];
  const problems = schemaProblems('run', doc);
  const r = doc as RunResult;
  if (problems.length === 0 && r.configurations.some((c) => c.perToken.some((t) => t.token >= r.tokens.length))) problems.push('configurations[].perToken[].token');
  return problems;
}
