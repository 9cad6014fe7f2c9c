import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latencyHistogram } from '../src/stats/latency-histogram.js';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';
import { LiveMetrics } from '../src/run/live-metrics.js';
import { parseListen } from '../src/cli/metrics-server.js';
import { RunControl } from '../src/measure/control.js';
import { CheckBacklog } from '../src/pipeline/check-backlog.js';
import type { RunResult } from '../src/model/run-result.js';
import { runCli, runCliAsync, runDirOf, tempDir, type CliResult } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

/** Ports free now on loopback (the kernel's choice), all held until all are chosen: never the same one twice. */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

const sample = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}"=,.+]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);

describe('live metrics: what is served', () => {
  it('counts and service times by token, read from the statistics when scraped', async () => {
    const stats = new ConfigurationStats(2, ['sign']);
    const record = (latencyUs: number) => ({ startOffsetUs: 0, latencyUs, operation: 'sign', verified: true, startLagUs: null, late: null });
    for (const us of [150, 900, 4000]) stats.add(0, record(us), undefined);
    stats.add(1, record(700), 'CKR_DEVICE_ERROR');
    const live = new LiveMetrics();
    live.started({ name: 'tokens-2', stats, tokens: [0, 1].map((i) => ({ label: `t${i}`, serial: `s${i}`, slotId: String(i) })), sessions: 2, targetRatePerS: null, control: new RunControl(2) });
    const text = await live.registry.metrics();
    expect(sample(text, 'hsm_bench_calls_total{configuration="tokens-2",token="0",outcome="ok"}')).toBe(3);
    expect(sample(text, 'hsm_bench_calls_total{configuration="tokens-2",token="1",outcome="failed"}')).toBe(1);
    expect(sample(text, 'hsm_bench_failures_total{configuration="tokens-2",status="CKR_DEVICE_ERROR"}')).toBe(1);
    // Cumulative buckets: 150 µs ≤ 0.0002 s, 900 µs ≤ 0.001 s, 4 ms ≤ 0.005 s.
    expect(sample(text, 'hsm_bench_service_time_seconds_bucket{configuration="tokens-2",token="0",le="0.0002"}')).toBe(1);
    expect(sample(text, 'hsm_bench_service_time_seconds_bucket{configuration="tokens-2",token="0",le="0.002"}')).toBe(2);
    expect(sample(text, 'hsm_bench_service_time_seconds_bucket{configuration="tokens-2",token="0",le="0.005"}')).toBe(3);
    expect(sample(text, 'hsm_bench_service_time_seconds_bucket{configuration="tokens-2",token="0",le="+Inf"}')).toBe(3);
    expect(sample(text, 'hsm_bench_service_time_seconds_sum{configuration="tokens-2",token="0"}')).toBeCloseTo(0.00505, 4);
    expect(sample(text, 'hsm_bench_configuration_running{configuration="tokens-2"}')).toBe(1);
    live.ended();
    expect(sample(await live.registry.metrics(), 'hsm_bench_configuration_running{configuration="tokens-2"}')).toBe(0);
    // The histogram type exists without values: an empty histogram is not a crash.
    expect(latencyHistogram().totalCount).toBe(0);
  });

  it("each token's state as a state set, reconnects by token, the host check's lag and outcomes", async () => {
    // Two tokens of two sessions each: sessions 0 and 1 are token 0's, 2 and 3 token 1's.
    const stats = new ConfigurationStats(2, ['sign']);
    const record = (startOffsetUs: number, verified: boolean | null = null) => ({ startOffsetUs, latencyUs: 100, operation: 'sign', verified, startLagUs: null, late: null });
    stats.add(0, record(0, true), undefined);
    stats.add(0, record(10, false), 'VERIFY_FAILED');
    stats.add(1, record(20, true), undefined);
    const control = new RunControl(4);
    const live = new LiveMetrics();
    live.started({ name: 'tokens-2-sessions-2', stats, tokens: [0, 1].map((i) => ({ label: `t${i}`, serial: `s${i}`, slotId: String(i) })), sessions: 4, targetRatePerS: null, control });
    const states = async (token: number) => {
      const text = await live.registry.metrics();
      return ['ok', 'failing', 'reconnecting', 'lost'].filter((state) => sample(text, `hsm_bench_token_state{configuration="tokens-2-sessions-2",token="${token}",state="${state}"}`) === 1);
    };
    // Token 0's latest call failed (its host check did); token 1 works.
    expect(await states(0)).toEqual(['failing']);
    expect(await states(1)).toEqual(['ok']);
    const calling = async () => sample(await live.registry.metrics(), 'hsm_bench_sessions_calling{configuration="tokens-2-sessions-2"}');
    expect(await calling()).toBe(4);
    // One session of token 1 reopens its session: the token is reconnecting until it has.
    control.reconnectBegins(3);
    expect(await states(1)).toEqual(['reconnecting']);
    expect(await calling()).toBe(3);
    control.reconnected(3);
    control.reconnectEnds(3);
    expect(await states(1)).toEqual(['ok']);
    // One of token 1's sessions lost is not the token lost; both are.
    control.sessionLost(2);
    expect(await states(1)).toEqual(['ok']);
    control.reconnectBegins(3);
    control.sessionLost(3);
    // A session lost while it reconnected stays lost when its reconnecting ends.
    control.reconnectEnds(3);
    expect(await states(1)).toEqual(['lost']);
    // Token 0's sessions end by the stop rule: done, not lost.
    control.sessionDone(0);
    control.sessionDone(1);
    expect(await states(0)).toEqual(['failing']);
    expect(await calling()).toBe(0);
    const text = await live.registry.metrics();
    expect(sample(text, 'hsm_bench_reconnects_total{configuration="tokens-2-sessions-2",token="0"}')).toBe(0);
    expect(sample(text, 'hsm_bench_reconnects_total{configuration="tokens-2-sessions-2",token="1"}')).toBe(1);
    expect(sample(text, 'hsm_bench_host_checks_total{configuration="tokens-2-sessions-2",outcome="passed"}')).toBe(2);
    expect(sample(text, 'hsm_bench_host_checks_total{configuration="tokens-2-sessions-2",outcome="failed"}')).toBe(1);
    expect(sample(text, 'hsm_bench_verification_lag_seconds{configuration="tokens-2-sessions-2"}')).toBe(0);
    control.checkLagS = () => 2.5;
    expect(sample(await live.registry.metrics(), 'hsm_bench_verification_lag_seconds{configuration="tokens-2-sessions-2"}')).toBe(2.5);
  });

  it("the host check's lag: the age of the oldest batch not yet checked, spilled ones included", () => {
    const backlog = new CheckBacklog();
    const s = (seconds: number) => BigInt(seconds * 1e9);
    expect(backlog.lagS(s(10))).toBe(0);
    const first = backlog.entered(s(1));
    const second = backlog.entered(s(2));
    expect(backlog.lagS(s(10))).toBe(9);
    backlog.checked(first);
    expect(backlog.lagS(s(10))).toBe(8);
    backlog.checked(second);
    backlog.spill(s(3));
    backlog.spill(s(4));
    expect(backlog.lagS(s(10))).toBe(7);
    // Read back after the window: checked with the time it came.
    const replayed = backlog.entered(backlog.unspill());
    expect(backlog.lagS(s(10))).toBe(7);
    backlog.checked(replayed);
    expect(backlog.lagS(s(10))).toBe(6);
    backlog.checked(backlog.entered(backlog.unspill()));
    expect(backlog.lagS(s(10))).toBe(0);
  });

  it("a lab's runs label their series with the run's name: configurations named alike stay apart", async () => {
    const live = new LiveMetrics();
    for (const run of ['one', 'two']) {
      live.labRun = run;
      live.runStarted(`scale-${run}`, 'sign/p256');
      const stats = new ConfigurationStats(1, ['sign']);
      stats.add(0, { startOffsetUs: 0, latencyUs: 100, operation: 'sign', verified: null, startLagUs: null, late: null }, undefined);
      live.started({ name: 'tokens-1', stats, tokens: [{ label: 't', serial: 's', slotId: '0' }], sessions: 1, targetRatePerS: null, control: new RunControl(1) });
      live.ended();
    }
    const text = await live.registry.metrics();
    for (const run of ['one', 'two']) {
      expect(sample(text, `hsm_bench_calls_total{configuration="tokens-1",run="${run}",token="0",outcome="ok"}`)).toBe(1);
      expect(sample(text, `hsm_bench_run_info{run_id="scale-${run}",workload="sign/p256",run="${run}"}`)).toBe(1);
    }
  });

  it('listens on loopback unless a host is named; a bad address is refused', () => {
    expect(parseListen('9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListen('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    for (const bad of ['', 'x', '70000', 'host:', ':9464 ', 'a b:1']) expect(() => parseListen(bad), bad).toThrow(/--metrics-listen must be \[HOST:\]PORT/);
  });

  it('a port already taken: exit 3 before any token is touched', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    const r = runCli(['burn-in', '--alg', 'p256', '--signatures', '10', '--metrics-listen', `127.0.0.1:${port}`, '--out', tempDir('metrics-taken')], { HSM_BENCH_WORKSPACE: tempDir('metrics-ws') });
    taken.close();
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/--metrics-listen cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

/** Runs the CLI while scraping http://127.0.0.1:PORT/metrics five times a second: its result and every scrape. */
async function runScraped(args: string[], env: Record<string, string>, port: number): Promise<{ r: CliResult; scrapes: string[] }> {
  let ended = false;
  const running = runCliAsync(args, env).finally(() => (ended = true));
  const scrapes: string[] = [];
  while (!ended) {
    const text = await fetch(`http://127.0.0.1:${port}/metrics`).then(
      (res) => (res.ok ? res.text() : undefined),
      () => undefined,
    );
    if (text !== undefined) scrapes.push(text);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { r: await running, scrapes };
}

describe('live metrics: token states and reconnects, scraped during a burn-in with a token that fails', () => {
  const hsm = new ExternalSoftHsm();
  let faulty: string;
  let failingSlot: string;
  beforeAll(() => {
    for (const label of ['ma', 'mb']) {
      hsm.initToken(label);
      hsm.generateKey(label, 'EC:prime256v1', 'mk');
    }
    faulty = buildFaultyModule();
    const listing = JSON.parse(runCli(['list', '--module', hsm.module, '--json'], hsm.env).stdout) as { slots: { slotId: string; token: { label: string } | null }[] };
    failingSlot = listing.slots.find((s) => s.token?.label === 'mb')!.slotId;
  }, 120_000);

  // Both engines keep sessions' states and reconnects: the native loop's jobs reconnect in the main thread, worker threads in their own.
  it.each([['native', {}] as const, ['threads', { HSM_BENCH_ENGINE: 'threads' }] as const])(
    '%s engine: the failing token reconnects, then is lost; the other stays ok',
    async (_engine, engineEnv) => {
      const [port] = await freePorts(1);
      // mb fails every signature: each failure reopens its sessions (which works) until --give-up-after loses it.
      const env = { ...hsm.env, ...engineEnv, HSM_BENCH_PIN: TEST_PIN, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_SLOT: failingSlot, FAULTY_EVERY: '1' };
      const args = [
        'burn-in',
        '--module',
        faulty,
        '--alg',
        'p256',
        '--key-label',
        'mk',
        '--tokens',
        '2',
        '--threads-per-token',
        '2',
        '--rate',
        '200',
        '--duration',
        '5s',
        '--give-up-after',
        '2s',
        '--verify',
        '0.5',
        '--metrics-listen',
        `127.0.0.1:${port}`,
        '--out',
        tempDir('metrics-faults'),
      ];
      const { r, scrapes } = await runScraped(args, env, port);
      // Exit 4: the lost token's calls failed.
      expect(r.status, r.stderr).toBe(4);
      const run = JSON.parse(readFileSync(join(runDirOf(r), 'run.json'), 'utf8')) as RunResult;
      const c = run.configurations[0]!;
      const lostToken = run.tokens.findIndex((t) => t.label === 'mb');
      const okToken = 1 - lostToken;
      // The burn-in's one configuration, as its series name it.
      const configuration = /^hsm_bench_sessions\{configuration="([^"]+)"\}/m.exec(scrapes[scrapes.length - 1]!)?.[1];
      const series = (name: string, labels: string) => `${name}{configuration="${configuration}",${labels}}`;
      const state = (text: string, token: number) => ['ok', 'failing', 'reconnecting', 'lost'].filter((s) => sample(text, series('hsm_bench_token_state', `token="${token}",state="${s}"`)) === 1);
      expect(scrapes.length).toBeGreaterThanOrEqual(5);
      // While it ran, the failing token was seen reconnecting; at the end it is lost, and the other is ok.
      expect(
        scrapes.map((text) => state(text, lostToken)[0]),
        scrapes[3],
      ).toContain('reconnecting');
      const last = scrapes[scrapes.length - 1]!;
      expect(state(last, lostToken)).toEqual(['lost']);
      expect(state(last, okToken)).toEqual(['ok']);
      expect(sample(last, series('hsm_bench_reconnects_total', `token="${lostToken}"`))).toBeGreaterThanOrEqual(2);
      expect(sample(last, series('hsm_bench_reconnects_total', `token="${okToken}"`))).toBe(0);
      // The final scrape's counts are the run's.
      expect(sample(last, series('hsm_bench_calls_total', `token="${lostToken}",outcome="failed"`))).toBe(c.perToken[lostToken]!.operationsFailed);
      expect(sample(last, series('hsm_bench_calls_total', `token="${okToken}",outcome="ok"`))).toBe(c.perToken[okToken]!.operationsOk);
      expect(sample(last, series('hsm_bench_host_checks_total', 'outcome="passed"'))).toBe(c.operationsVerified);
      expect(sample(last, series('hsm_bench_host_checks_total', 'outcome="failed"'))).toBe(0);
      expect(sample(last, `hsm_bench_sessions_calling{configuration="${configuration}"}`)).toBe(0);
      // Everything made was checked and recorded: the check is not behind.
      expect(sample(last, `hsm_bench_verification_lag_seconds{configuration="${configuration}"}`)).toBe(0);
    },
    120_000,
  );
});

describe('live metrics of a lab (run --config)', () => {
  it("serves every run's series, labelled by run, at the lab file's metricsListen; --metrics-listen refuses a taken port", async () => {
    const [port] = await freePorts(1);
    const out = tempDir('metrics-lab');
    const lab = join(out, 'lab.json');
    // Two runs whose configurations are named alike (tokens-1): the label run keeps them apart.
    writeFileSync(
      lab,
      JSON.stringify({ out, metricsListen: `127.0.0.1:${port}`, runs: ['first', 'second'].map((name) => ({ name, alg: 'p256', tokens: [1], signaturesPerToken: 2000, verify: 'none' })) }),
    );
    const { r, scrapes } = await runScraped(['run', '--config', lab, '--json'], { HSM_BENCH_WORKSPACE: tempDir('metrics-lab-ws') }, port);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`live metrics: http://127\\.0\\.0\\.1:${port}/metrics`));
    const runs = (JSON.parse(r.stdout) as { runs: { name: string; result: RunResult }[] }).runs;
    const last = scrapes[scrapes.length - 1]!;
    for (const { name, result } of runs) {
      const c = result.configurations[0]!;
      expect(sample(last, `hsm_bench_calls_total{configuration="tokens-1",run="${name}",token="0",outcome="ok"}`)).toBe(c.operationsOk);
      expect(sample(last, `hsm_bench_run_info{run_id="${result.runId}",workload="sign/p256",run="${name}"}`)).toBe(1);
    }

    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const refused = runCli(['run', '--config', lab, '--metrics-listen', `127.0.0.1:${(taken.address() as { port: number }).port}`], { HSM_BENCH_WORKSPACE: tempDir('metrics-lab-ws') });
    taken.close();
    expect(refused.status).toBe(3);
    expect(refused.stderr).toMatch(/--metrics-listen cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
    // A lab file's metricsListen that is no [HOST:]PORT is the file's problem, found before anything runs.
    writeFileSync(lab, JSON.stringify({ out, metricsListen: '70000', runs: [{ name: 'one', alg: 'p256', tokens: [1] }] }));
    const bad = runCli(['run', '--config', lab], { HSM_BENCH_WORKSPACE: tempDir('metrics-lab-ws') });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/\$\.metricsListen: must be \[HOST:\]PORT.*not "70000"/);
  }, 120_000);
});

describe('live metrics: scraped by a real Prometheus during a burn-in', () => {
  let prometheus: ChildProcess | undefined;
  afterAll(() => prometheus?.kill('SIGKILL'));

  it("stores counts whose last values equal the run's final counts", async () => {
    const [metricsPort, webPort] = await freePorts(2);
    const dir = tempDir('prometheus');
    writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: hsm-bench\n    static_configs:\n      - targets: ['127.0.0.1:${metricsPort}']\n`);
    prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${webPort}`], { stdio: 'ignore' });
    const api = `http://127.0.0.1:${webPort}`;
    for (
      let i = 0;
      i < 300 &&
      !(await fetch(`${api}/-/ready`).then(
        (r) => r.ok,
        () => false,
      ));
      i++
    )
      await new Promise((r) => setTimeout(r, 100));

    // 12 s at 200/s on two tokens: about twelve scrapes while it runs.
    const args = [
      'burn-in',
      '--alg',
      'p256',
      '--tokens',
      '2',
      '--rate',
      '200',
      '--signatures',
      '2400',
      '--verify',
      '0.1',
      '--metrics-listen',
      `127.0.0.1:${metricsPort}`,
      '--out',
      tempDir('metrics-run'),
    ];
    const r = await runCliAsync(args, { HSM_BENCH_WORKSPACE: tempDir('metrics-ws') });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`live metrics: http://127\\.0\\.0\\.1:${metricsPort}/metrics`));
    const run = JSON.parse(readFileSync(join(runDirOf(r), 'run.json'), 'utf8')) as RunResult;
    const c = run.configurations[0]!;

    const query = async (q: string) => {
      const body = (await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      return body.data.result.map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
    };
    // The run is over and its series went stale with its endpoint: their last stored values are the final ones. The
    // run waited for the final scrape's response to be sent; Prometheus stores what it read a moment later, so the
    // test asks until it is stored (a final scrape never taken still fails here).
    const finalCount = c.operationsOk + c.operationsFailed;
    let total = await query('sum(last_over_time(hsm_bench_calls_total[5m]))');
    for (let i = 0; i < 100 && total[0]?.value !== finalCount; i++) {
      await new Promise((r) => setTimeout(r, 100));
      total = await query('sum(last_over_time(hsm_bench_calls_total[5m]))');
    }
    expect(total[0]?.value).toBe(finalCount);
    const byToken = await query('sum by (token) (last_over_time(hsm_bench_calls_total{outcome="ok"}[5m]))');
    expect(Object.fromEntries(byToken.map((s) => [s.metric.token, s.value]))).toEqual(Object.fromEntries(c.perToken.map((t, i) => [String(i), t.operationsOk])));
    // It was scraped while it ran, not only at the end: the stored counts rose over the run.
    const scraped = await query('count_over_time(hsm_bench_calls_total{token="0",outcome="ok"}[5m])');
    expect(scraped[0]?.value).toBeGreaterThanOrEqual(3);
    expect((await query('last_over_time(hsm_bench_target_rate_per_second[5m])'))[0]?.value).toBe(200);
    // Host checks as run.json counts them, none behind at the end; both tokens ok throughout.
    expect((await query('sum(last_over_time(hsm_bench_host_checks_total[5m]))'))[0]?.value).toBe(c.operationsVerified);
    expect((await query('last_over_time(hsm_bench_verification_lag_seconds[5m])'))[0]?.value).toBe(0);
    expect((await query('min(min_over_time(hsm_bench_token_state{state="ok"}[5m]))'))[0]?.value).toBe(1);
  }, 120_000);
});

describe('the Grafana dashboard (fixtures/grafana/hsm-bench.json)', () => {
  it('queries only metrics that hsm-bench serves', async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../fixtures/grafana/hsm-bench.json', import.meta.url), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const stats = new ConfigurationStats(1, ['sign']);
    const live = new LiveMetrics();
    live.started({ name: 'tokens-1-rate-10', stats, tokens: [{ label: 't', serial: 's', slotId: '0' }], sessions: 1, targetRatePerS: 10, control: new RunControl(1) });
    const served = new Set(
      [...(await live.registry.metrics()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!])),
    );
    const queried = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\b((?:hsm_bench|nodejs|process)_[a-z0-9_]+)/g)].map((m) => m[1]!)));
    expect(queried.length).toBeGreaterThan(5);
    expect(queried.filter((name) => !served.has(name))).toEqual([]);
  });
});
