import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../src/result/records-file.js';
import type { CallRecord } from '../src/model/record.js';
import type { RunResult } from '../src/model/run-result.js';
import { descendantsOf, runCliWithSteps, tempDir } from './helpers/cli.js';
import { ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

/**
 * docs/burn-in.md: "what a kill loses is at most the last 2 s of records". A burn-in has no spill file: its
 * sessions wait for the host check. The check is made to fall behind (8 tokens signing P-256, one verification
 * thread), the burn-in's process is killed with SIGKILL (its supervisor continues it), and pkcs11-spy counts the
 * C_Sign calls the killed process made: those not on disk must be no more than the tokens made in the last 2 s.
 */
const TOKENS = ['ka', 'kb', 'kc', 'kd', 'ke', 'kf', 'kg', 'kh'];
/** The claim's 2 s, and half a second for the host: a stall of the main thread delays the records' flush by as much. */
const LOSS_BOUND_S = 2.5;

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });

/** The spy's C_Sign calls, by when each was made (ms since the epoch: the spy writes local time, TZ=UTC here). */
function spiedSignsMs(log: string): number[] {
  const lines = readFileSync(log, 'latin1').split('\n');
  const at: number[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    if (/^\d+: C_Sign$/.test(lines[i]!)) at.push(Date.parse(`${lines[i + 1]!.replace(' ', 'T')}Z`));
  }
  return at;
}

async function recordsOf(dir: string): Promise<CallRecord[]> {
  const all: CallRecord[] = [];
  for await (const r of readRecords(join(dir, 'records', 'burn-in.rec'))) all.push(r);
  return all;
}

describe('a burn-in killed while its host check is behind', () => {
  const hsm = new ExternalSoftHsm();
  beforeAll(() => {
    for (const label of TOKENS) {
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'kk');
    }
  }, 120_000);

  it('loses no more than the calls of the last 2 s, and the restart makes those again, each recorded once', async () => {
    const out = tempDir('kill-loss');
    const log = join(tempDir('kill-loss-spy'), 'spy.log');
    const port = await freePort();
    let lagS = 0;
    let signingSinceMs = 0;
    let polling = true;
    // How far the host check is behind, as the live metrics say it.
    const poll = (async () => {
      while (polling) {
        try {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          const m = /^hsm_bench_verification_lag_seconds(?:\{[^}]*\})? ([\d.e+-]+)$/m.exec(text);
          if (m) lagS = Number(m[1]);
        } catch {
          // Not listening yet, or between processes.
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    let lagAtKillS = 0;
    const env = { ...hsm.spyEnv(log), HSM_BENCH_PIN: TEST_PIN, TZ: 'UTC' };
    const args = ['burn-in', '--module', SPY_MODULE, '--all-tokens', '--tokens', String(TOKENS.length), '--alg', 'p256', '--key-label', 'kk'];
    const run = await runCliWithSteps(env, [...args, '--verify-threads', '1', '--duration', '14s', '--metrics-listen', `127.0.0.1:${port}`, '--out', out], out, [
      {
        when: (_dir, stderr) => {
          if (signingSinceMs === 0 && /records in/.test(stderr)) signingSinceMs = Date.now();
          // A few seconds in, with the check a good half second behind: its backlog is what a kill would cut.
          return signingSinceMs > 0 && Date.now() - signingSinceMs > 4000 && lagS >= 0.5;
        },
        act: (supervisor) => {
          lagAtKillS = lagS;
          // The burn-in's process alone, as a module that crashes it would: the supervisor records the death and goes on.
          // (The supervisor's one child comes last, after its own descendants.)
          process.kill(descendantsOf(supervisor.pid!).at(-1)!, 'SIGKILL');
        },
      },
    ]);
    polling = false;
    await poll;
    // The module "crashed" the process once: exit 4, continued from disk to the end of the plan.
    expect(run.status, run.stderr).toBe(4);
    expect(lagAtKillS).toBeGreaterThanOrEqual(0.5);
    const result: RunResult = JSON.parse(readFileSync(join(run.dir, 'run.json'), 'utf8'));
    const [restart] = result.burnIn!.restarts!;
    expect(result.burnIn!.restarts).toHaveLength(1);
    const deathMs = Date.parse(restart!.at);
    const signs = spiedSignsMs(log);
    // The killed process's calls (its trial calls included: a few): those made before its death.
    const made = signs.filter((at) => at <= deathMs).length;
    const lost = made - restart!.recordsOnDisk;
    const madeInBoundS = signs.filter((at) => at <= deathMs && at > deathMs - LOSS_BOUND_S * 1000).length;
    expect(lost, `${made} C_Sign made by the killed process, ${restart!.recordsOnDisk} on disk; ${madeInBoundS} made in its last ${LOSS_BOUND_S} s`).toBeLessThanOrEqual(madeInBoundS);
    // The supervisor's count is a lower bound of what was cut (calls still in a session's ring or batch are not told).
    expect(restart!.callsNotRecorded).toBeGreaterThan(0);
    expect(restart!.callsNotRecorded).toBeLessThanOrEqual(lost);
    // The restart made the lost calls again: each (token, thread) numbers its calls 0, 1, 2 … in the file, once each.
    const records = await recordsOf(run.dir);
    for (let t = 0; t < TOKENS.length; t++) {
      const sequences = records.filter((r) => r.token === t).map((r) => r.sequence);
      expect(sequences).toEqual(sequences.map((_, i) => i));
    }
    expect(records).toHaveLength(result.configurations[0]!.operationsOk + result.configurations[0]!.operationsFailed);
  }, 180_000);
});
