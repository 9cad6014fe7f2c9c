import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configurationStartsMs, START_SETTLE_MS } from '../src/model/plan.js';
import { readLabFile } from '../src/plan/lab-file.js';
import { planInputFromFlags } from '../src/plan/plan-flags.js';
import { scalePlan } from '../src/plan/plan.js';
import { parseStartAt } from '../src/plan/start-at.js';
import { clockSync } from '../src/run/clock-sync.js';
import { runCliAsync, tempDir } from './helpers/cli.js';
import type { RunResult } from '../src/model/run-result.js';

describe('--start-at', () => {
  const now = Date.parse('2026-12-04T00:00:00Z');
  it('reads a moment in UTC to the millisecond, or a time from now', () => {
    expect(parseStartAt('2026-12-04T01:00:00Z', '--start-at', now)).toEqual({ given: '2026-12-04T01:00:00Z', atMs: Date.parse('2026-12-04T01:00:00Z') });
    expect(parseStartAt('2026-12-04T01:00:00.25Z', '--start-at', now).atMs).toBe(Date.parse('2026-12-04T01:00:00.250Z'));
    expect(parseStartAt('+90s', '--start-at', now).atMs).toBe(now + 90_000);
    // RFC 3339 allows a lowercase t and z, and any number of fraction digits: rounded to the millisecond.
    expect(parseStartAt('2026-12-04t01:00:00z', '--start-at', now).atMs).toBe(Date.parse('2026-12-04T01:00:00Z'));
    expect(parseStartAt('2026-12-04T01:00:00.1236Z', '--start-at', now).atMs).toBe(Date.parse('2026-12-04T01:00:00.124Z'));
    expect(parseStartAt('2026-12-04T01:00:00.123456789Z', '--start-at', now).atMs).toBe(Date.parse('2026-12-04T01:00:00.123Z'));
    // A time from now is +DURATION written together; one without its + is told how to write it.
    expect(() => parseStartAt('+ 5s', '--start-at', now)).toThrow(/written together/);
    expect(() => parseStartAt('30s', '--start-at', now)).toThrow(/as \+30s/);
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
    expect(plan.startAt).toEqual({ given: future, atMs: Date.parse(future) });
    const file = join(tempDir('lab-start'), 'lab.json');
    writeFileSync(file, JSON.stringify({ runs: [{ name: 'x', alg: 'p256', tokens: [1], startAt: future }] }));
    expect((await readLabFile(file)).runs[0]!.plan.startAt?.atMs).toBe(Date.parse(future));
    writeFileSync(file, JSON.stringify({ runs: [{ name: 'x', alg: 'p256', tokens: [1, 2], startAt: future }] }));
    await expect(readLabFile(file)).rejects.toThrow(/\$\.runs\[0\]\.startAt with several configurations needs \$\.runs\[0\]\.duration/);
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
