import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configurationStartsMs, START_SETTLE_MS } from '../src/model/plan.js';
import { readLabFile } from '../src/plan/lab-file.js';
import { checkLabStarts } from '../src/plan/lab-starts.js';
import { planInputFromFlags } from '../src/plan/plan-flags.js';
import { scalePlan } from '../src/plan/plan.js';
import { parseStartAt } from '../src/plan/start-at.js';
import { clockSync } from '../src/run/clock-sync.js';
import { runCli, runCliAsync, tempDir } from './helpers/cli.js';
import type { RunResult } from '../src/model/run-result.js';

describe('--start-at', () => {
  const now = Date.parse('2026-12-04T00:00:00Z');
  it('reads a moment in UTC to the millisecond, or a time from now', () => {
    expect(parseStartAt('2026-12-04T01:00:00Z', '--start-at', now)).toEqual({ given: '2026-12-04T01:00:00Z', givenAs: '--start-at', atMs: Date.parse('2026-12-04T01:00:00Z') });
    expect(parseStartAt('2026-12-04T01:00:00.25Z', '--start-at', now).atMs).toBe(Date.parse('2026-12-04T01:00:00.250Z'));
    expect(parseStartAt('+90s', '--start-at', now).atMs).toBe(now + 90_000);
    // RFC 3339 allows a lowercase t and z, and any number of fraction digits: rounded to the millisecond.
    expect(parseStartAt('2026-12-04t01:00:00z', '--start-at', now).atMs).toBe(Date.parse('2026-12-04T01:00:00Z'));
    expect(parseStartAt('2026-12-04T01:00:00.1236Z', '--start-at', now).atMs).toBe(Date.parse('2026-12-04T01:00:00.124Z'));
    expect(parseStartAt('2026-12-04T01:00:00.123456789Z', '--start-at', now).atMs).toBe(Date.parse('2026-12-04T01:00:00.123Z'));
    // A time from now is +DURATION written together; one without its + is told how to write it.
    expect(() => parseStartAt('+ 5s', '--start-at', now)).toThrow(/written together/);
    expect(() => parseStartAt('30s', '--start-at', now)).toThrow(/as \+30s/);
    // A bad time from now is quoted as typed, its + kept, and the examples have theirs.
    expect(() => parseStartAt('+0s', '--start-at', now)).toThrow(/^--start-at '\+0s' is out of range$/);
    expect(() => parseStartAt('+5x', '--start-at', now)).toThrow(/must be \+DURATION, a number with a unit \(ms, s, m, h\), not '\+5x'/);
    const caught = (() => {
      try {
        parseStartAt('+0s', '--start-at', now);
      } catch (error) {
        return error as { hint?: string };
      }
    })();
    expect(caught?.hint).toMatch(/^for example --start-at \+30s, \+5m, \+1\.5h or \+250ms/);
    // A local time or an offset would be read differently on hosts in other zones: only UTC is taken.
    for (const text of ['2026-12-04T01:00:00', '2026-12-04T01:00:00+01:00', '2026-13-01T00:00:00Z', '2026-12-04 01:00:00Z', '30s'])
      expect(() => parseStartAt(text, '--start-at', now), text).toThrow(/--start-at must be a moment in UTC/);
  });

  it('gives each configuration a start every host computes alike: the planned windows and the settle apart', () => {
    expect(configurationStartsMs(now, [30_000, 30_000, 60_000])).toEqual([now, now + 30_000 + START_SETTLE_MS, now + 60_000 + 2 * START_SETTLE_MS]);
    expect(configurationStartsMs(now, [30_000, 30_000], 3_000)).toEqual([now, now + 33_000]);
  });

  it('takes the settle between configurations as --settle, with --start-at only, and records it', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString().slice(0, 19) + 'Z';
    const input = { alg: 'p256', tokens: '1,2', duration: '10s', warmup: '0', threadsPerToken: '1', verify: 'all', workspace: 'ws', out: 'o' };
    expect(scalePlan(planInputFromFlags({ ...input, startAt: future, settle: '3s' })).startAt!.settleMs).toBe(3_000);
    expect(() => scalePlan(planInputFromFlags({ ...input, settle: '3s' }))).toThrow(/--settle is the time between configurations started together: it goes with --start-at/);
    const base = tempDir('settle');
    const at = new Date(Date.now() + 12_000).toISOString().slice(0, 19) + 'Z';
    const r = await runCliAsync(['scale', '--alg', 'p256', '--tokens', '1,2', '--duration', '1s', '--warmup', '0', '--start-at', at, '--settle', '4s', '--out', join(base, 'out'), '--format', 'md'], {
      HSM_BENCH_WORKSPACE: join(base, 'ws'),
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/each later one its planned window and 4 s after the one before/);
    const out = join(base, 'out');
    const run = JSON.parse(readFileSync(join(out, readdirSync(out)[0]!, 'run.json'), 'utf8')) as RunResult;
    expect(run.startAt!.settleS).toBe(4);
    expect(Date.parse(run.configurations[1]!.windowStartedAt!)).toBeGreaterThanOrEqual(Date.parse(at) + 1_000 + 4_000);
  }, 120_000);

  it('is a field of the plan: the flag, and a lab file run named by its JSON path', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString().slice(0, 19) + 'Z';
    const plan = scalePlan(planInputFromFlags({ alg: 'p256', tokens: '1,2', duration: '10s', warmup: '0', threadsPerToken: '1', verify: 'all', workspace: 'ws', out: 'o', startAt: future }));
    expect(plan.startAt).toEqual({ given: future, givenAs: '--start-at', atMs: Date.parse(future) });
    const file = join(tempDir('lab-start'), 'lab.json');
    writeFileSync(file, JSON.stringify({ runs: [{ name: 'x', alg: 'p256', tokens: [1], startAt: future }] }));
    expect((await readLabFile(file)).runs[0]!.plan.startAt?.atMs).toBe(Date.parse(future));
    writeFileSync(file, JSON.stringify({ runs: [{ name: 'x', alg: 'p256', tokens: [1, 2], startAt: future }] }));
    await expect(readLabFile(file)).rejects.toThrow(/\$\.runs\[0\]\.startAt with several configurations needs \$\.runs\[0\]\.duration/);
  });
});

describe('--start-at in a lab file', () => {
  it("counts a run's +D from the end of its own set-up: two runs with +3s both run, each waiting after its set-up", async () => {
    const base = tempDir('lab-relative');
    const out = join(base, 'out');
    const file = join(base, 'lab.json');
    // Run a's wait and window end after run b's moment would have passed, were +3s counted from when the file was read.
    const run = { alg: 'p256', tokens: [1], duration: '2s', warmup: 0, startAt: '+3s' };
    writeFileSync(
      file,
      JSON.stringify({
        out,
        runs: [
          { name: 'a', ...run },
          { name: 'b', ...run },
        ],
      }),
    );
    const r = await runCliAsync(['run', '--config', file, '--json'], { HSM_BENCH_WORKSPACE: join(base, 'ws') });
    expect(r.status, r.stderr).toBe(0);
    const [a, b] = (JSON.parse(r.stdout) as { runs: { result: RunResult }[] }).runs.map((x) => x.result);
    for (const x of [a!, b!]) {
      expect(x.startAt!.given).toBe('+3s');
      // The moment is 3 s after the set-up, which the run's start (its directory made after the set-up) follows.
      expect(Date.parse(x.startAt!.at)).toBeGreaterThanOrEqual(Date.parse(x.startedAt) + 3_000 - 1_000);
      expect(Date.parse(x.configurations[0]!.windowStartedAt!)).toBeGreaterThanOrEqual(Date.parse(x.startAt!.at));
    }
    const aClosedMs = Date.parse(a!.configurations[0]!.windowStartedAt!) + a!.configurations[0]!.durationS * 1000;
    expect(Date.parse(b!.startAt!.at)).toBeGreaterThanOrEqual(aClosedMs + 3_000);
  }, 120_000);

  it("a later run's moment met at the lab's start but past after the runs before it: said at the start, refused by its JSON path", async () => {
    const base = tempDir('lab-late');
    const file = join(base, 'lab.json');
    // Run a stops after a count of calls at 100/s (10 s): no planned window tells how long it takes.
    const at = new Date(Date.now() + 6_000).toISOString();
    const runs = [
      { name: 'a', alg: 'p256', tokens: [1], rate: 100, signaturesPerToken: 1000, warmup: 0 },
      { name: 'b', alg: 'p256', tokens: [1], duration: '1s', startAt: at },
    ];
    writeFileSync(file, JSON.stringify({ out: join(base, 'out'), runs }));
    const r = await runCliAsync(['run', '--config', file], { HSM_BENCH_WORKSPACE: join(base, 'ws') });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/b opens at \S+ \(\$\.runs\[1\]\.startAt\): the runs before it must have ended by then/);
    expect(r.stderr).toMatch(/error: \$\.runs\[1\]\.startAt \S+ is already past after the set-up/);
  }, 120_000);

  it('refuses, before any run, an absolute start of a later run that the runs before it cannot have ended by', async () => {
    const dir = tempDir('lab-starts');
    const file = join(dir, 'lab.json');
    const at = (s: number) => new Date(Date.now() + s * 1000).toISOString().slice(0, 19) + 'Z';
    const first = { name: 'a', alg: 'p256', tokens: [1], duration: '10m' };
    writeFileSync(file, JSON.stringify({ out: join(dir, 'out'), runs: [first, { name: 'b', alg: 'p256', tokens: [1], duration: '5s', startAt: at(120) }] }));
    const r = runCli(['run', '--config', file], { HSM_BENCH_WORKSPACE: join(dir, 'ws') });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\$\.runs\[1\]\.startAt 20\S+Z is before the runs before it can have ended: their planned windows take 600 s at least/);
    expect(r.stderr).toMatch(/nothing was run/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'out'))).toBe(false);
    // Two runs at one moment: the second cannot start while the first runs.
    const both = at(300);
    writeFileSync(
      file,
      JSON.stringify({
        runs: [
          { ...first, duration: '5s', startAt: both },
          { name: 'b', alg: 'p256', tokens: [1], duration: '5s', startAt: both },
        ],
      }),
    );
    await expect(readLabFile(file).then((lab) => checkLabStarts(lab.runs, Date.now()))).rejects.toThrow(/\$\.runs\[1\]\.startAt .* their planned windows take 5 s at least, until 20\S+Z/);
    // Only the runs chosen to run (--only) are held to it.
    writeFileSync(file, JSON.stringify({ out: join(dir, 'out'), runs: [first, { name: 'b', alg: 'p256', tokens: [1], duration: '5s', startAt: at(120) }] }));
    const lab = await readLabFile(file);
    expect(() => checkLabStarts(lab.runs.slice(1), Date.now())).not.toThrow();
    // A later start the runs before it can meet is said at the lab's start, with the time they take.
    writeFileSync(
      file,
      JSON.stringify({
        runs: [
          { ...first, duration: '5s' },
          { name: 'b', alg: 'p256', tokens: [1], duration: '5s', startAt: at(120) },
        ],
      }),
    );
    expect(checkLabStarts((await readLabFile(file)).runs, Date.now())).toEqual([
      expect.stringMatching(/^b opens at 20\S+Z \(\$\.runs\[1\]\.startAt\): the runs before it must have ended by then \(their planned windows take 5 s at least of the 1\d\d s until it\)$/),
    ]);
  });
});

describe("the host clock's state", () => {
  it("records the kernel's maximum and estimated error where the adjtimex tool reads them", () => {
    // No host here has the tool (nor systemd, nor chrony): one that prints what adjtimex --print prints stands in.
    const bin = tempDir('adjtimex');
    writeFileSync(join(bin, 'adjtimex'), '#!/bin/sh\nprintf "         mode: 0\\n       offset: 0\\n     maxerror: 16500\\n     esterror: 250\\n       status: 8192\\n"\n');
    chmodSync(join(bin, 'adjtimex'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const clock = clockSync();
      expect(clock).toMatchObject({ maxErrorUs: 16500, estErrorUs: 250 });
      // Where timedatectl or chronyc answer first, they say the state; the kernel's status word otherwise.
      if (clock.source === 'adjtimex') expect(clock.synchronized).toBe('yes');
    } finally {
      process.env.PATH = path;
    }
  });
});
