import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, tempDir } from './helpers/cli.js';

/**
 * Hostile input, generated: every command's flags and input files get malformed values, drawn with a fixed seed
 * so a failure can be replayed. Every case must end with a documented exit code (2 for bad input, 3 for set-up),
 * one error line and at most a hint, no stack trace, no secret echoed, and nothing written anywhere.
 */
const SEED = 20261127;
const CASES = 180;
const SECRET = 'Qx9-SECRET-77';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0), s / 2 ** 32);
}

/** Malformed values by the kind of flag: none of them is valid for any flag of its kind. */
const COMMON = ['', ' ', '1e309', 'NaN', 'Infinity', '0x10', '١٢', 'x'.repeat(3000), '$(touch pwned)', '1,,2', ',', '1;2', '{}', '[]', '%s%n', `pkcs11:token=a?pin-value=${SECRET}`];
const HOSTILE: Record<string, string[]> = {
  count: [...COMMON, '-1', '1.5', '9'.repeat(40), 'null', 'all,none'],
  duration: [...COMMON, '-5s', '5 s', '10d', '0s', '0.0000001ms', '1e3s', '5', '2.5.1h', '9999999h'],
  word: [...COMMON, 'null', '-1', 'pkcs11:', 'pkcs11:token', 'pkcs11:object=k', 'all,none'],
  path: ['', '/', '/nonexistent/dir/file', '.', '/dev/null/x', '/proc/self/status'],
};

/** Flags of each command with a valid base that would sign, were a malformed value let through. */
const TARGETS: { command: string[]; base: string[]; flags: Record<string, keyof typeof HOSTILE> }[] = [
  {
    command: ['scale'],
    base: ['--alg', 'p256', '--tokens', '1', '--signatures-per-token', '2'],
    flags: {
      '--alg': 'word',
      '--mechanism': 'word',
      '--tokens': 'count',
      '--signatures-per-token': 'count',
      '--duration': 'duration',
      '--warmup': 'count',
      '--threads-per-token': 'count',
      '--verify': 'word',
      '--slots': 'count',
      '--token-uri': 'word',
      '--min-throughput': 'word',
      '--max-p99': 'word',
      '--max-failures': 'count',
      '--min-efficiency': 'word',
      '--max-regression': 'word',
      '--baseline': 'path',
      '--reference': 'path',
      '--junit': 'path',
    },
  },
  {
    command: ['burn-in'],
    base: ['--alg', 'p256', '--tokens', '1', '--signatures', '2'],
    flags: {
      '--tokens': 'count',
      '--signatures': 'count',
      '--give-up-after': 'duration',
      '--progress-interval': 'duration',
      '--threads-per-token': 'count',
      '--verify': 'word',
      '--slots': 'count',
      '--token-uri': 'word',
      '--resume': 'path',
      '--max-failures': 'count',
    },
  },
  { command: ['list'], base: [], flags: { '--slots': 'count', '--token-uri': 'word' } },
  { command: ['report'], base: [], flags: { '--format': 'word', '--reference': 'path' } },
  { command: ['compare'], base: [], flags: { '--max-regression': 'word' } },
];

const SECRET_FLAGS = [`--pin=${SECRET}`, `--so-pin=${SECRET}`, `--passphrase=${SECRET}`, `--user-pin=${SECRET}`];

/** Malformed input files for the commands that read them. */
const FILES: Record<string, string> = {
  'run.json': '{"schemaVersion":2,"runId":"r","tokens":[{"label":1}]}',
  'checkpoint.json': '{"schemaVersion":2,"runId":"../../etc","startedAt":"x","tokens":"all"}',
  'lab.json': '{"runs":[{"name":"a","alg":"p256","tokens":["1"],"threadsPerToken":-1}]}',
  'reference.json': '{"series":[{"algorithm":"rsa2048","configurations":[{"tokens":"one"}]}]}',
};

interface Case {
  args: string[];
}

function generate(): Case[] {
  const next = rng(SEED);
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  const cases: Case[] = [];
  while (cases.length < CASES) {
    const roll = next();
    if (roll < 0.1) cases.push({ args: ['scale', '--alg', 'p256', pick(SECRET_FLAGS)] });
    else {
      const t = pick(TARGETS);
      const flag = pick(Object.keys(t.flags));
      cases.push({ args: [...t.command, ...t.base, flag, pick(HOSTILE[t.flags[flag]!]!)] });
    }
  }
  return cases;
}

function run(args: string[], cwd: string, env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: 'true', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function inBatches<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  return results;
}

describe(`fuzz: ${CASES} malformed command lines and files (seed ${SEED})`, () => {
  it('each ends with exit 2 or 3, one message, no trace, no secret, nothing written', async () => {
    const files = tempDir('fuzz-files');
    for (const [name, content] of Object.entries(FILES)) writeFileSync(join(files, name), content);
    const fileCases: Case[] = [
      { args: ['report', files] },
      { args: ['report', join(files, 'run.json')] },
      { args: ['compare', join(files, 'run.json'), join(files, 'run.json')] },
      { args: ['burn-in', '--resume', files] },
      { args: ['run', '--config', join(files, 'lab.json')] },
      { args: ['run', '--config', join(files, 'run.json')] },
      { args: ['scale', '--alg', 'p256', '--tokens', '1', '--reference', join(files, 'reference.json')] },
      { args: ['scale', '--alg', 'p256', '--tokens', '1', '--baseline', join(files, 'checkpoint.json')] },
    ];
    const cases = [...generate(), ...fileCases];
    const results = await inBatches(cases, 6, async (c) => {
      // Each case gets its own empty folders; any file in them afterwards was written by a run that should not have started.
      const cwd = tempDir('fuzz-cwd');
      const workspace = join(cwd, 'ws');
      const r = await run([...c.args, ...(['scale', 'burn-in'].includes(c.args[0]!) && !c.args.includes('--out') ? ['--out', join(cwd, 'out')] : [])], cwd, { HSM_BENCH_WORKSPACE: workspace });
      return { c, r, written: readdirSync(cwd) };
    });
    const bad = results.filter(({ c, r, written }) => {
      const lines = r.stderr.trimEnd().split('\n');
      const clean = /^hsm-bench: error: |^error: /.test(lines[0] ?? '') && lines.every((l) => !/^\s+at /.test(l)) && !r.stderr.includes('internal error');
      // The embedded workspace may be made before a set-up error (exit 3); a run directory never.
      const unexpected = written.filter((w) => !(w === 'ws' && r.status === 3));
      return ![2, 3].includes(r.status ?? -1) || !clean || r.stdout !== '' || unexpected.length > 0 || (r.stderr + r.stdout).includes(SECRET);
    });
    expect(bad.map(({ c, r, written }) => `${JSON.stringify(c.args).slice(0, 200)} → exit ${r.status}, wrote ${JSON.stringify(written)}: ${r.stderr.slice(0, 300)}`)).toEqual([]);
  }, 300_000);
});
