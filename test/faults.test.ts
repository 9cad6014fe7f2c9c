import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runCli, tempDir } from './helpers/cli.js';
import { ExternalSoftHsm } from './helpers/softhsm-module.js';

const FIXTURE = new URL('../fixtures/run-bp256/', import.meta.url).pathname;
const SECRET = '271828';

/** A message and its hint, nothing else: no stack trace, no secret. */
function expectCleanError(stderr: string): void {
  expect(stderr).toMatch(/^hsm-bench: error: /);
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr).not.toContain(SECRET);
}

describe('secrets are never echoed', () => {
  for (const flag of ['--pin', '--so-pin', '--passphrase', '--password']) {
    it(`${flag}=VALUE is refused without repeating the value`, () => {
      const r = runCli(['scale', '--alg', 'rsa2048', `${flag}=${SECRET}`]);
      expect(r.status).toBe(2);
      expect(r.stderr).not.toContain(SECRET);
      expect(r.stderr).toContain(flag === '--passphrase' ? 'a passphrase is never a command-line argument' : 'a PIN is never a command-line argument');
    });
  }
  it('a PIN given where a variable name or a PIN file belongs is not repeated', () => {
    const hsm = new ExternalSoftHsm();
    hsm.initToken('secret-test');
    for (const args of [
      ['--pin-env', SECRET],
      ['--pin-file', SECRET],
      ['--pin-env', `PIN${SECRET}`],
    ]) {
      const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--module', hsm.module, '--out', tempDir('secret-out'), ...args], hsm.env);
      expect(r.status).toBe(3);
      expectCleanError(r.stderr);
      expect(r.stderr).toMatch(/the (PIN variable|variable|PIN file) given/);
    }
  });
});

describe('input files are checked, not trusted', () => {
  const runDir = (runJson: string) => {
    const dir = tempDir('bad-run');
    writeFileSync(join(dir, 'run.json'), runJson);
    return dir;
  };
  for (const [what, content] of [
    ['null', 'null'],
    ['an empty object with the version', '{"schemaVersion":2}'],
    ['torn JSON', '{"schemaVersion":2,"runId":"x"'],
    ['configurations that are not a list', JSON.stringify({ ...JSON.parse(spawnSync('cat', [join(FIXTURE, 'run.json')]).stdout.toString()), configurations: 7 })],
  ] as const) {
    it(`report and compare refuse a run.json that is ${what}: exit 2`, () => {
      for (const args of [
        ['report', runDir(content)],
        ['compare', FIXTURE, runDir(content)],
      ]) {
        const r = runCli(args);
        expect(r.status).toBe(2);
        expectCleanError(r.stderr);
      }
    });
  }
  for (const [what, content] of [
    ['garbage', 'not json at all'],
    ['truncated', '{"schemaVersion":2,"runId":"20260101-000000-burnin-p256","startedAt":"2026-01'],
    ['of another version', '{"schemaVersion":1}'],
    ['without tokens', JSON.stringify({ schemaVersion: 2, runId: 'r', startedAt: '2026-01-01T00:00:00Z', options: {}, tokens: [], pinRefused: [], segments: [] })],
  ] as const) {
    it(`burn-in --resume refuses a checkpoint that is ${what}: exit 2`, () => {
      const dir = tempDir('bad-checkpoint');
      writeFileSync(join(dir, 'checkpoint.json'), content);
      const r = runCli(['burn-in', '--resume', dir]);
      expect(r.status).toBe(2);
      expectCleanError(r.stderr);
      expect(r.stderr).toContain('checkpoint');
    });
  }
  it('burn-in --resume refuses flags that would change the plan', () => {
    // --verify-threads was taken and ignored before the plan had one home; the progress pace is not the plan.
    const r = runCli(['burn-in', '--resume', tempDir('resume-flags'), '--alg', 'p256', '--verify-threads', '2', '--workspace', '/tmp/elsewhere', '--progress-interval', '5s']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--alg, --verify-threads, --workspace cannot change it/);
  });
});

describe('what can be checked is checked before the first signature', () => {
  it('--junit naming a directory or a missing folder: exit 2, nothing created', () => {
    const out = tempDir('junit-out');
    for (const junit of [out, join(out, 'missing', 'j.xml')]) {
      const r = runCli(['scale', '--alg', 'rsa2048', '--tokens', '1', '--out', out, '--junit', junit], { HSM_BENCH_WORKSPACE: join(out, 'ws') });
      expect(r.status).toBe(2);
      expectCleanError(r.stderr);
    }
    expect(readdirSync(out)).toEqual([]);
  });
  it('a baseline of another algorithm: exit 2 before signing', () => {
    const out = tempDir('baseline-alg');
    const r = runCli(['scale', '--alg', 'rsa2048', '--tokens', '1', '--out', out, '--baseline', FIXTURE], { HSM_BENCH_WORKSPACE: join(out, 'ws') });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/measured sign\/bp256, this run measures sign\/rsa2048/);
    expect(readdirSync(out)).toEqual([]);
  });
  it('sessions and embedded tokens are bounded: exit 2', () => {
    expect(runCli(['scale', '--alg', 'rsa2048', '--threads-per-token', '10000']).status).toBe(2);
    const r = runCli(['scale', '--alg', 'rsa2048', '--tokens', '99']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/at most 32 SoftHSM2 tokens/);
  });
});

/** A 2 MB tmpfs (root only): a disk that fills up during a run. */
function smallDisk(): { dir: string; release: () => void } | undefined {
  const dir = tempDir('full');
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]).status !== 0) return undefined;
  return { dir, release: () => spawnSync('umount', [dir]) };
}

/** Fills a disk but `freeBytes`: records cost about a byte a call, so a run fills a few tens of KiB in seconds. */
function fillLeaving(dir: string, freeBytes: number): void {
  const free = Number(spawnSync('df', ['-B1', '--output=avail', dir], { encoding: 'utf8' }).stdout.trim().split('\n').pop());
  writeFileSync(join(dir, 'filler'), Buffer.alloc(Math.max(0, free - freeBytes)));
}
const canMount = (() => {
  const probe = smallDisk();
  probe?.release();
  return probe !== undefined;
})();

describe('the machine fails', () => {
  it.skipIf(!canMount)('a disk that fills up stops a burn-in cleanly (exit 3, path and error named), and the run resumes elsewhere', async () => {
    const disk = smallDisk()!;
    try {
      const ws = { HSM_BENCH_WORKSPACE: tempDir('full-ws') };
      const out = join(disk.dir, 'out');
      mkdirSync(out);
      fillLeaving(disk.dir, 48 * 1024);
      const r = runCli(['burn-in', '--alg', 'p256', '--tokens', '1', '--signatures', '120000', '--verify', 'none', '--out', out], ws);
      expect(r.status).toBe(3);
      expectCleanError(r.stderr.slice(r.stderr.indexOf('hsm-bench: error')));
      // The records, or the checkpoint written beside them every 10 s: whichever the disk refused first.
      expect(r.stderr).toMatch(/cannot write .*(records\/burn-in\.rec|checkpoint\.json\S*): ENOSPC/);
      const copy = join(tempDir('full-copy'), 'run');
      spawnSync('cp', ['-r', join(out, readdirSync(out)[0]!), copy]);
      const resumed = runCli(['burn-in', '--resume', copy], ws);
      expect(resumed.status, resumed.stderr).toBe(0);
      expect(resumed.stdout).toMatch(/signatures performed \(successful\): 120000; failed: 0/);
    } finally {
      disk.release();
    }
  });
  it.skipIf(!canMount)('a disk that fills up stops scale the same way', () => {
    const disk = smallDisk()!;
    try {
      fillLeaving(disk.dir, 32 * 1024);
      const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '100000', '--verify', 'none', '--out', disk.dir], { HSM_BENCH_WORKSPACE: tempDir('full-ws2') });
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(/cannot write .*(records\/tokens-1\.rec|unverified-tokens-1\.bin): ENOSPC/);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    } finally {
      disk.release();
    }
  });

  it('results to a full stdout: exit 3 with a message, no trace', () => {
    const dir = tempDir('devfull');
    const full = openSync('/dev/full', 'w');
    const r = spawnSync(process.execPath, [BIN, 'report', '--format', 'md', dirWithFixture(dir)], { stdio: ['ignore', full, 'pipe'], env: { ...process.env, CI: 'true' } });
    closeSync(full);
    expect(r.status).toBe(3);
    expect(r.stderr.toString()).toMatch(/cannot write the results to standard output: ENOSPC/);
  });
  it('a second hsm-bench on the same embedded workspace is refused while the first holds it', async () => {
    const ws = tempDir('ws-lock');
    mkdirSync(ws, { recursive: true });
    // A live process that is not this one holds the lock, named as hsm-bench names itself (PID, start time, boot):
    // the CLI must refuse, naming it.
    const holder = spawnSync('sh', ['-c', 'sleep 30 >/dev/null 2>&1 & echo $!']).stdout.toString().trim();
    const startTicks = readFileSync(`/proc/${holder}/stat`, 'utf8').split(') ').at(-1)!.split(' ')[19];
    writeFileSync(join(ws, 'lock'), `${holder} ${startTicks} ${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()}`);
    const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '5', '--out', tempDir('lock-out')], { HSM_BENCH_WORKSPACE: ws });
    process.kill(Number(holder));
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(`is in use by another hsm-bench (process ${holder})`);
    expect(readdirSync(ws)).toEqual(['lock']);
  });
});

function dirWithFixture(dir: string): string {
  spawnSync('cp', ['-r', FIXTURE, join(dir, 'run')]);
  return join(dir, 'run');
}
