import { existsSync } from 'node:fs';
import { readJsonFile } from '../core/json-text.js';
import { join } from 'node:path';
import { CHECKPOINT_FILE, CHECKPOINT_INPUT } from '../record/checkpoint.js';
import { replayRecords } from '../record/replay.js';
import { ConfigurationStats } from '../stats/configuration-stats.js';
import { summarizeConfiguration, withEfficiency } from '../stats/summarize.js';
import type { RunResult } from './run-result.js';

/**
 * A burn-in that was killed (kill -9, power loss) left run.json as of its last write, maybe from its first
 * second; its records say what was really signed. For a burn-in whose checkpoint is not marked finished, the
 * configuration is counted again from the records, and the result says it is partial.
 */
export async function withRecordsOnDisk(dir: string, r: RunResult): Promise<RunResult> {
  const checkpointPath = join(dir, CHECKPOINT_FILE);
  if (r.command !== 'burn-in' || !existsSync(checkpointPath)) return r;
  let finished: unknown;
  try {
    finished = (readJsonFile(checkpointPath, CHECKPOINT_INPUT) as { finished?: unknown })?.finished;
  } catch {
    finished = false;
  }
  if (finished === true) return r;
  const c = r.configurations[0];
  if (!c) return r;
  const stats = new ConfigurationStats(r.tokens.length, r.operation?.mix?.map((m) => m.name) ?? []);
  await replayRecords(
    join(dir, c.recordsFile),
    { configuration: c.tokens, tokenCount: r.tokens.length, threadsPerToken: c.threadsPerToken, maxStartOffsetUs: (Date.now() - Date.parse(r.startedAt)) * 1000 },
    stats,
  );
  const counted = summarizeConfiguration({ recordsFile: c.recordsFile, stats, workerIssues: c.workerIssues }, r.tokens, c.threadsPerToken);
  return { ...r, interrupted: true, configurations: withEfficiency([counted]) };
}
