import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

const LABELS = ['sa', 'sb', 'sc'];

describe('a burn-in whose tokens stall (the wrapper holds C_Sign 1 s)', () => {
  const hsm = new ExternalSoftHsm();
  let faulty = '';
  beforeAll(() => {
    faulty = buildFaultyModule();
    for (const label of LABELS) {
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'st');
    }
  });
  const slots = () => (JSON.parse(runCli(['list', '--module', hsm.module, '--json'], hsm.env).stdout) as { slots: { slotId: string; token?: { label: string } }[] }).slots;
  const burnIn = (faults: Record<string, string>) => {
    const selected = slots().filter((s) => LABELS.includes(s.token?.label ?? ''));
    const r = runCli(
      ['burn-in', '--module', faulty, '--slots', selected.map((s) => s.slotId).join(','), '--key-label', 'st', '--alg', 'p256', '--tokens', '3', '--duration', '5s', '--out', tempDir('stalls')],
      // 5 ms signatures: about 500 a second from 3 tokens, so a stall every 1,000 opens one in the first half of the run.
      { ...hsm.env, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000', FAULTY_SIGN_DELAY_MS: '5', FAULTY_STALL_EVERY: '1000', FAULTY_STALL_MS: '1000', ...faults },
    );
    expect(r.status, r.stderr).toBe(0);
    const dir = runDirOf(r);
    return { r, run: JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunResult, report: readFileSync(join(dir, 'report.md'), 'utf8'), selected };
  };

  it('of every token at once: each token’s gap and the cluster’s are the second, and the stall names all of them', () => {
    const { r, run, report } = burnIn({});
    const c = run.configurations[0]!;
    for (const t of c.perToken) expect(t.longestGapMs).toBeGreaterThanOrEqual(900);
    expect(c.stalls!.clusterLongestGapMs).toBeGreaterThanOrEqual(900);
    const together = c.stalls!.episodes.filter((e) => e.allTokensS !== null && e.allTokensS >= 0.9);
    expect(together.length).toBeGreaterThanOrEqual(1);
    expect(together[0]!.tokens).toEqual([0, 1, 2]);
    // A second or so, scaled as every time is: "998 ms" or "1.02 s".
    expect(r.stdout).toMatch(/longest time without a successful call: (\d\.\d\d s|\d{3} ms) for the whole cluster/);
    expect(r.stdout).toMatch(/at \d+\.\d\d s into the window, (\d\.\d\d s|\d{3} ms): all 3 tokens at once/);
    expect(report).toMatch(/## Gaps and stalls[\s\S]*all 3 tokens at once/);
  });

  it('of one token: that token alone, the others without a long gap', () => {
    // Counted on that token alone: about 190 signatures a second.
    const { run, selected } = burnIn({ FAULTY_SLOT: slots().find((s) => s.token?.label === 'sb')!.slotId, FAULTY_STALL_EVERY: '300' });
    const c = run.configurations[0]!;
    const stalled = run.tokens.findIndex((t) => t.label === 'sb');
    expect(selected).toHaveLength(3);
    expect(c.perToken[stalled]!.longestGapMs).toBeGreaterThanOrEqual(900);
    const its = c.stalls!.episodes.filter((e) => e.tokens.includes(stalled) && e.durationS >= 0.9);
    expect(its.length).toBeGreaterThanOrEqual(1);
    // Only a stall of the host at that moment could have held the others too.
    for (const e of its) expect(e.allTokensS === null || e.hostStallS > 0).toBe(true);
    expect(c.stalls!.clusterLongestGapMs).toBeLessThan(c.perToken[stalled]!.longestGapMs);
  });
});
