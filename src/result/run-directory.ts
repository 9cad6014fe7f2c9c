import { upgradeRunJson } from './run-upgrade.js';
import { closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { openOutputFile } from '../core/output-file.js';
import { join } from 'node:path';
import { HsmBenchError, ExitCode, setupError, writeError } from '../core/errors.js';
import { SCHEMA_VERSION, type RunResult } from '../model/run-result.js';
import { runShapeProblems } from './run-shape.js';
import { makeDirectory } from '../core/make-dir.js';
import { shown } from '../core/quote.js';
import type { InputKind } from '../core/input-file.js';
import { readJsonFile, versionText } from '../core/json-text.js';

/** yyyymmdd-hhmmss in UTC: run directories sort by their start. */
export const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/** Creates reports/<date-time>-<alg>[-n]/ with its records/ folder; never reuses an existing directory. */
export function createRunDirectory(parent: string, startedAt: Date, algorithmId: string): { runId: string; dir: string } {
  makeDirectory(parent);
  try {
    for (let n = 1; ; n++) {
      const runId = `${stamp(startedAt)}-${algorithmId}${n > 1 ? `-${n}` : ''}`;
      const dir = join(parent, runId);
      try {
        // Not recursive: two runs started in the same second each get a directory of their own.
        mkdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw error;
      }
      mkdirSync(join(dir, 'records'));
      return { runId, dir };
    }
  } catch (error) {
    throw setupError(`cannot create a run directory under ${shown(parent)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, 'choose a writable folder with --out', error);
  }
}

/** Writes a file whole or not at all: write a temporary file, fsync, rename. */
export function writeFileAtomic(path: string, content: string): void {
  const tmp = `${path}.tmp`;
  try {
    const fd = openOutputFile(tmp);
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    // The previous version of the file is still whole: only the temporary file is dropped.
    rmSync(tmp, { force: true });
    throw writeError(path, error);
  }
}

/** Makes what was written to a file durable (fsync), as far as it exists: what a checkpoint counts must survive a power cut. */
export function syncFile(path: string): void {
  if (!existsSync(path)) return;
  // Without blocking: a FIFO planted in the file's place must not hold the run.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeRunJson(dir: string, result: RunResult): void {
  writeFileAtomic(join(dir, 'run.json'), JSON.stringify(result, null, 2) + '\n');
}

/** run.json holds summaries, never records: a 256-token sweep is a few MiB. */
const RUN_JSON: InputKind = { what: 'run.json', maxBytes: 64 * 1024 * 1024, exitCode: ExitCode.usage, hint: 'give a run directory made by hsm-bench, or its run.json' };

/** Reads a run directory's (or a run.json file's) result, refusing schema versions this build does not know. */
export function readRunJson(dirOrFile: string): RunResult {
  const path = dirOrFile.endsWith('.json') ? dirOrFile : join(dirOrFile, 'run.json');
  let doc = readJsonFile(path, RUN_JSON);
  const version = (doc as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 2 || version > SCHEMA_VERSION) {
    throw new HsmBenchError(
      `${shown(path)} has schema version ${versionText(version)}; this hsm-bench reads versions 2 to ${SCHEMA_VERSION}`,
      ExitCode.usage,
      'use the hsm-bench version that wrote it',
    );
  }
  doc = upgradeRunJson(doc as Record<string, unknown>);
  const problems = runShapeProblems(doc);
  if (problems.length > 0) {
    throw new HsmBenchError(
      `${shown(path)} is not a complete run.json: missing or malformed ${problems.join(', ')}`,
      ExitCode.usage,
      'give a run directory made by hsm-bench, or its run.json, unedited',
    );
  }
  return doc as RunResult;
}
