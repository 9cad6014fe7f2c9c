import type { ConfigurationResult } from '../model/run-result.js';

/**
 * The tokens of a configuration that did not sign to its end, in any repetition: those with a session whose call did
 * not return (hung), and those with a worker that stopped early for another reason (lost, PIN refused, failures in a
 * row). Indices in run.json's tokens. Its figures are those of fewer tokens than it names.
 */
export function tokensShortOf(c: ConfigurationResult): { hungTokens: number[]; stoppedTokens: number[] } {
  const runs = c.repetitions ?? [c];
  const hung = new Set(runs.flatMap((x) => x.hungSessions ?? []).map((h) => h.token));
  const stopped = new Set(runs.flatMap((x) => x.workerIssues).map((i) => i.token));
  return { hungTokens: [...hung].sort((a, b) => a - b), stoppedTokens: [...stopped].filter((t) => !hung.has(t)).sort((a, b) => a - b) };
}
