import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readLabFile } from '../src/plan/lab-file.js';
import { parseCsvLine } from '../src/result/records-csv.js';
import { SUMMARY_COLUMNS } from '../src/report/summary-csv.js';
import { readRunJson } from '../src/result/run-directory.js';
import type { RunResult } from '../src/model/run-result.js';
import { BIN, runCli, runDirOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

/**
 * What the outputs say must be what the data supports: a run killed before it verified everything is not "all
 * verified"; every command reads a run directory as `report` does; a hung or stopped token is said first, and no
 * scaling figure is drawn from a configuration that is not whole; a status that is not a CKR code is explained.
 */
const env = { HSM_BENCH_WORKSPACE: tempDir('honest-ws') };
const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0);
const readRun = (dir: string): RunResult => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));

/** Runs the CLI into `out` and kills it with SIGKILL once `ready(runDir)` holds; resolves with the run directory. */
function killedWhen(args: string[], out: string, ready: (dir: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--out', out], { env: { ...process.env, CI: 'true', ...env }, stdio: 'ignore' });
    let dir = '';
    let killed = false;
    const poll = setInterval(() => {
      dir ||= readdirSync(out).map((d) => join(out, d))[0] ?? '';
      if (dir !== '' && !killed && ready(dir)) {
        killed = true;
        child.kill('SIGKILL');
      }
    }, 20);
    child.on('close', () => {
      clearInterval(poll);
      if (killed) resolve(dir);
      else reject(new Error(`the run ended before it could be killed: ${args.join(' ')}`));
    });
  });
}

/** A copy of a run directory, so that one command's rewrite does not change what another reads. */
function copyOf(dir: string): string {
  const copy = join(tempDir('honest-copy'), 'run');
  cpSync(dir, copy, { recursive: true });
  return copy;
}

const csvRows = (dir: string) => {
  const [head, ...rows] = readFileSync(join(dir, 'summary.csv'), 'utf8').trim().split('\n').map(parseCsvLine);
  expect(head).toEqual(SUMMARY_COLUMNS);
  return rows.map((row) => Object.fromEntries(SUMMARY_COLUMNS.map((name, i) => [name, row[i]!])));
};

describe('a scale run killed while verification was behind', () => {
  let killed: string;
  const PLAN = ['scale', '--alg', 'p256', '--tokens', '1,2', '--threads-per-token', '2', '--signatures-per-token', '60000', '--verify-threads', '1'];

  beforeAll(async () => {
    // Four sessions signing against one verification thread: the 2-token configuration spills; killed once it has.
    killed = await killedWhen(PLAN, tempDir('honest-kill'), (dir) => sizeOf(join(dir, 'unverified-tokens-2-sessions-2.bin')) > 1_000_000);
    expect(readRun(killed).configurations.map((c) => c.tokens)).toEqual([1]);
  }, 180_000);

  it('report counts what was verified and what never was, says the run was killed, and draws no efficiency from the part', () => {
    const dir = copyOf(killed);
    const r = runCli(['report', dir, '--format', 'md,csv,json']);
    expect(r.status, r.stderr).toBe(0);
    const run = readRun(dir);
    const two = run.configurations[1]!;
    const verified = run.configurations.reduce((n, c) => n + c.operationsVerified, 0);
    const unverified = two.operationsUnverified!;
    expect(unverified).toBeGreaterThan(0);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toMatch(/hsm-bench [\d.]+ — \*\*killed \(recounted from disk\), partial results\*\*/);
    expect(md).toContain(`- ${verified} of ${verified + unverified} signatures were verified on the host against each token's public key; ${unverified} returned CKR_OK but were never checked.`);
    expect(md).not.toMatch(/All \d+ signatures succeeded|all of them/);
    // Calls whose batches died with the process (a hole before the spilled ones) are in no count, and said so.
    if (two.operationsLost)
      expect(md).toMatch(new RegExp(`failed; ${unverified} of them were never checked, and CKR_OK is all that is known of those; ${two.operationsLost} more were made whose outcome died`));
    // A window cut short by the kill is no scaling figure, and says why.
    expect(md).not.toMatch(/Scaling is/);
    expect(md).toContain('- No scaling efficiency is drawn from 2 tokens × 2 sessions: the run was killed in it');
    expect(md).toMatch(/\| 2 tokens × 2 sessions × ECDSA P-256 \(partial: killed\) \|[^\n]*\| – \|\n/);
    const total = csvRows(dir).find((row) => row.configurationTokens === '2' && row.token === 'all')!;
    expect([total.partial, total.operationsUnverified, total.hungSessions, total.efficiency]).toEqual(['killed', String(unverified), '0', '']);
  });

  it('compare, trend, --baseline and a lab baseline read it as report does: the 2-token configuration measured in part', async () => {
    const cmp = runCli(['compare', copyOf(killed), copyOf(killed), '--out', tempDir('honest-cmp')]);
    expect(cmp.status).toBe(5);
    expect(cmp.stdout).toContain('NOT MEASURED: 2 tokens × 2 sessions: measured only in part: the run was killed in it');
    expect(cmp.stdout).not.toMatch(/killed before it/);
    const trend = runCli(['trend', copyOf(killed), '--json', '--out', tempDir('honest-trend')]);
    expect(trend.status, trend.stderr).toBe(0);
    const points = (JSON.parse(trend.stdout) as { points: { tokens: number; measured: string; throughputPerS: number | null }[] }).points;
    expect(points.map((p) => [p.tokens, p.measured])).toEqual([
      [1, 'whole'],
      [2, 'part'],
    ]);
    // Measured in part: listed, with no figure of its window cut short.
    expect(points[1]!.throughputPerS).toBeNull();
    const withBaseline = runCli(
      [
        'scale',
        '--alg',
        'p256',
        '--tokens',
        '1,2',
        '--threads-per-token',
        '2',
        '--signatures-per-token',
        '200',
        '--verify',
        'none',
        '--format',
        'md',
        '--baseline',
        copyOf(killed),
        '--force',
        '--out',
        tempDir('honest-base'),
      ],
      env,
    );
    expect(withBaseline.stdout).toContain("the baseline's 2 tokens × 2 sessions: measured only in part: the run was killed in it");
    expect(withBaseline.stderr).toMatch(/note: the baseline: 2 tokens × 2 sessions: the run stopped in it; its calls counted from disk/);
    const lab = join(tempDir('honest-lab'), 'lab.json');
    writeFileSync(lab, JSON.stringify({ runs: [{ name: 'again', alg: 'p256', tokens: [1, 2], threadsPerToken: 2, signaturesPerToken: 60000, baseline: copyOf(killed) }] }));
    const baseline = (await readLabFile(lab)).runs[0]!.baseline!.result;
    expect(baseline.configurations.map((c) => [c.tokens, c.partial])).toEqual([
      [1, undefined],
      [2, 'killed'],
    ]);
  }, 120_000);
});

describe('a --repeat run killed in its second repetition', () => {
  it('rows say how many repetitions are whole, and no efficiency is set against an incomplete basis', async () => {
    const dir = await killedWhen(
      ['scale', '--alg', 'p256', '--tokens', '1,2', '--repeat', '2', '--duration', '2s', '--verify', 'none'],
      tempDir('honest-repeat'),
      (d) => existsSync(join(d, 'records', 'tokens-1-rep-2.rec')) && sizeOf(join(d, 'records', 'tokens-1-rep-2.rec')) > 2_000,
    );
    const r = runCli(['report', dir, '--format', 'md,csv']);
    expect(r.status, r.stderr).toBe(0);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toMatch(/\| 1 token × ECDSA P-256 \(1 of 2 repetitions whole\) \|[^\n]*\| – \|\n/);
    expect(md).toMatch(/\| 2 tokens × ECDSA P-256 \(1 of 2 repetitions whole\) \|[^\n]*\| – \|\n/);
    expect(md).not.toMatch(/partial: killed|Scaling is/);
    expect(md).toContain('- No scaling efficiency is drawn from 2 tokens: only 1 of its 2 repetitions is whole');
    expect(md).toMatch(/Each configuration was to be measured 2 times/);
    expect(
      csvRows(dir)
        .filter((row) => row.token === 'all')
        .map((row) => [row.configurationTokens, row.partial, row.efficiency]),
    ).toEqual([
      ['1', 'repetitions', ''],
      ['2', 'repetitions', ''],
    ]);
  }, 180_000);
});

describe('a token that hangs or stops among working ones', () => {
  const hsm = new ExternalSoftHsm();
  let faulty: string;
  let slots: string[];
  const labels = ['fa', 'fb', 'fc'];

  beforeAll(() => {
    for (const label of labels) {
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'hk');
    }
    faulty = buildFaultyModule();
    const listing = JSON.parse(runCli(['list', '--module', hsm.module, '--json'], hsm.env).stdout) as { slots: { slotId: string; token: { label: string } | null }[] };
    slots = labels.map((l) => listing.slots.find((s) => s.token?.label === l)!.slotId);
  }, 120_000);

  /** fc, the last of the three, misbehaves: the 1-token configuration is fa alone. */
  const faultEnv = (fault: Record<string, string>) => ({ ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000', FAULTY_SLOT: slots[2]!, ...fault });
  const scale = (args: string[], fault: Record<string, string>) =>
    runCli(
      [
        'scale',
        '--module',
        faulty,
        '--alg',
        'p256',
        '--key-label',
        'hk',
        '--slots',
        slots.join(','),
        '--tokens',
        '1,3',
        '--duration',
        '2s',
        '--format',
        'md,csv',
        ...args,
        '--out',
        tempDir('honest-fault'),
      ],
      faultEnv(fault),
    );
  const conclusionOf = (md: string) =>
    md
      .slice(md.indexOf('## Conclusion'))
      .split('\n')
      .filter((l) => l.startsWith('- '));

  it('a hung session is said first, the configuration is marked, the spread names it, and no efficiency is drawn from it', () => {
    const r = scale(['--call-timeout', '1s'], { FAULTY_SIGN_HANG_AFTER: '30' });
    expect(r.status, r.stderr).toBe(4);
    const dir = runDirOf(r);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(md).toMatch(/\| 3 tokens × ECDSA P-256 \(1 token hung\) \|[^\n]*\| – \|\n/);
    const lines = conclusionOf(md);
    expect(lines[0]).toMatch(new RegExp(`^- With 3 tokens, token slot ${slots[2]}: fc: HUNG: a call did not return within 1 s`));
    expect(lines[1]).toMatch(/^- 1 of \d+ signatures failed \(see Failures\) — CALL_TIMED_OUT ×1: the call did not return within 1 s \(--call-timeout\); its session was abandoned\.$/);
    expect(md).not.toMatch(/Scaling is/);
    expect(md).toContain(`- No scaling efficiency is drawn from 3 tokens: a session of fc (slot ${slots[2]}) hung`);
    // Two tokens left signing cannot tell which one is off: none is named slowest.
    expect(md).toMatch(new RegExp(`the two tokens ran at [^\\n]*cannot tell which one is off\\. Left out of this: fc \\(slot ${slots[2]}, serial \\w+\\), [\\d.]+/s: a session hung`));
    expect(md).toContain('| 3 tokens | CALL_TIMED_OUT | 1 | the call did not return within 1 s (--call-timeout); its session was abandoned |');
    const rows = csvRows(dir).filter((row) => row.configurationTokens === '3');
    expect(rows.map((row) => [row.label, row.hungSessions])).toEqual([
      ['fa', '0'],
      ['fb', '0'],
      ['fc', '1'],
      ['', '1'],
    ]);
  }, 120_000);

  it('a token stopped by outputs of the wrong size: stopped first, WRONG_OUTPUT_SIZE explained everywhere it is listed', () => {
    const junit = join(tempDir('honest-junit'), 'junit.xml');
    const r = scale(['--junit', junit], { FAULTY_SIGN_LENGTH: '0', FAULTY_SIGN_LENGTH_AFTER: '21' });
    expect(r.status, r.stderr).toBe(4);
    const meaning = 'CKR_OK with an output of the wrong size (ECDSA P-256 makes 64 bytes)';
    expect(r.stdout).toContain(`failures with 3 tokens: WRONG_OUTPUT_SIZE ×100: ${meaning}`);
    const md = readFileSync(join(runDirOf(r), 'report.md'), 'utf8');
    expect(md).toContain(`| 3 tokens | WRONG_OUTPUT_SIZE | 100 | ${meaning} |`);
    expect(md).toMatch(/\| 3 tokens × ECDSA P-256 \(1 token stopped\) \|[^\n]*\| – \|\n/);
    const lines = conclusionOf(md);
    expect(lines[0]).toBe(`- With 3 tokens, token slot ${slots[2]}: fc: 100 consecutive calls failed.`);
    expect(lines[1]).toBe(`- 100 of ${lines[1]!.match(/of (\d+)/)![1]} signatures failed (see Failures) — WRONG_OUTPUT_SIZE ×100: ${meaning}.`);
    expect(md).not.toMatch(/Scaling is|windows overlapped/);
    expect(md).toContain(`- No scaling efficiency is drawn from 3 tokens: fc (slot ${slots[2]}) stopped before the end`);
    expect(md).toMatch(/Left out of this: fc \(slot \d+, serial \w+\), [\d.]+\/s: it stopped before the end/);
    expect(readFileSync(junit, 'utf8')).toContain(`WRONG_OUTPUT_SIZE ×100: ${meaning}`);
    const burnIn = runCli(
      [
        'burn-in',
        '--module',
        faulty,
        '--alg',
        'p256',
        '--key-label',
        'hk',
        '--slots',
        slots[2]!,
        '--tokens',
        '1',
        '--signatures',
        '40',
        '--give-up-after',
        '1s',
        '--format',
        'md',
        '--out',
        tempDir('honest-burnin'),
      ],
      { ...faultEnv({ FAULTY_SIGN_LENGTH: '0', FAULTY_SIGN_LENGTH_AFTER: '21' }), HSM_BENCH_ENGINE: 'threads' },
    );
    expect(burnIn.status, burnIn.stderr).toBe(4);
    expect(burnIn.stdout).toMatch(new RegExp(`failures by status: WRONG_OUTPUT_SIZE ×\\d+: ${meaning.replace(/[()]/g, '\\$&')}`));
  }, 180_000);
});

describe('status meanings', () => {
  /** `report` of the fixture run with its 2-token configuration failing as `failuresByCkr` says; returns report.md. */
  function reportWith(failuresByCkr: Record<string, number>, edit: (r: RunResult) => void = () => {}): string {
    const dir = copyOf(new URL('../fixtures/run-rsa2048/', import.meta.url).pathname);
    const r = readRunJson(dir);
    r.configurations[1]!.failuresByCkr = failuresByCkr;
    r.configurations[1]!.operationsFailed = Object.values(failuresByCkr).reduce((a, b) => a + b, 0);
    edit(r);
    writeFileSync(join(dir, 'run.json'), JSON.stringify(r));
    const out = runCli(['report', dir, '--format', 'md']);
    expect(out.status, out.stderr).toBe(0);
    return readFileSync(join(dir, 'report.md'), 'utf8');
  }

  it('name the size each operation makes, from the operation itself: every entry of a mix, GCM with its tag', () => {
    const md = reportWith({ WRONG_OUTPUT_SIZE: 2, CALL_TIMED_OUT: 1, VERIFY_FAILED: 3, ERROR: 1, CKR_DEVICE_ERROR: 1 });
    expect(md).toContain('| 2 tokens | WRONG_OUTPUT_SIZE | 2 | CKR_OK with an output of the wrong size (RSA-2048 makes 256 bytes) |');
    expect(md).toContain("| 2 tokens | CALL_TIMED_OUT | 1 | the call did not return within 10 × the token's slowest call, at least 10 s; its session was abandoned |");
    expect(md).toContain("| 2 tokens | VERIFY_FAILED | 3 | CKR_OK, but the signature failed when verified on the host against each token's public key |");
    expect(md).toMatch(/\| 2 tokens \| ERROR \| 1 \| the call failed without a CKR code/);
    expect(md).toContain('| 2 tokens | CKR_DEVICE_ERROR | 1 |  |');
    // In the conclusion too, with the counts.
    expect(md).toMatch(/- 8 of \d+ signatures failed \(see Failures\) — WRONG_OUTPUT_SIZE ×2: CKR_OK with an output of the wrong size \(RSA-2048 makes 256 bytes\); CALL_TIMED_OUT ×1: /);
    const mix = reportWith({ WRONG_OUTPUT_SIZE: 1 }, (r) => {
      r.operation = {
        name: 'mix',
        call: 'mix',
        mix: [
          { name: 'sign', algorithm: 'p384', mechanism: 'CKM_ECDSA', keyLabel: 'k', weight: 3 },
          { name: 'encrypt', algorithm: 'aes256', mechanism: 'CKM_AES_GCM', keyLabel: null, weight: 1 },
        ],
      };
    });
    expect(mix).toContain('| 2 tokens | WRONG_OUTPUT_SIZE | 1 | CKR_OK with an output of the wrong size (ECDSA P-384 makes 96 bytes, AES-256 encryption makes 48 bytes) |');
  });
});
