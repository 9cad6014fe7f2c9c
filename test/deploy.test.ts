import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/cli.js';

const ROOT = new URL('..', import.meta.url).pathname;
const SCRIPT = join(ROOT, 'scripts/launch-ssh.sh');

/** launch-ssh.sh with a runner and a fetcher that stand in for ssh and scp. */
function launch(args: string[]) {
  return spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', timeout: 30_000 });
}
const script = (dir: string, name: string, body: string) => {
  const path = join(dir, name);
  writeFileSync(path, `#!/usr/bin/env bash\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
};

describe('scripts/launch-ssh.sh refuses what it cannot do, and says what failed', () => {
  const base = tempDir('launch-ssh');
  it('a host given twice, an option without its value: a usage error (exit 2), never bash\'s "unbound variable"', () => {
    const twice = launch(['a', 'a', '--', 'scale']);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(/host a is given twice/);
    for (const option of ['--lead', '--out', '--fetcher']) {
      const r = launch(['a', 'b', option]);
      expect(r.status, option).toBe(2);
      expect(r.stderr).toContain(`${option} needs a value`);
      expect(r.stderr).not.toMatch(/unbound variable/);
    }
  });

  it('--lead with leading zeros is decimal, not an octal error of bash', () => {
    const seen = join(base, 'lead-08.txt');
    const runner = script(base, 'record.sh', `echo "$2" >> ${seen}`);
    const before = Date.now();
    const r = launch(['--lead', '08', '--out', join(base, 'out-08'), '--runner', runner, 'a', 'b', '--', 'scale']);
    expect(r.stderr).not.toMatch(/value too great for base/);
    // The runner made no run: exit 3, after both hosts were started with the moment 8 s ahead.
    expect(r.status, r.stderr).toBe(3);
    const startAt = readFileSync(seen, 'utf8').match(/--start-at (\S+)/)![1]!;
    expect(Date.parse(startAt) - before).toBeGreaterThan(6_000);
    expect(Date.parse(startAt) - before).toBeLessThan(30_000);
  });

  it('refuses (exit 2) an --out or --start-at of the run after --: the script sets them', () => {
    const runner = script(base, 'never.sh', `touch ${join(base, 'started')}`);
    for (const [given, set] of [
      [['--out', 'x'], '--out'],
      [['--out=x'], '--out'],
      [['--start-at', '+30s'], '--start-at'],
      [['--start-at=2026-12-04T01:00:00Z'], '--start-at'],
    ] as const) {
      const r = launch(['--lead', '1', '--out', join(base, 'out-own'), '--runner', runner, 'a', 'b', '--', 'scale', '--alg', 'p256', ...given]);
      expect(r.status, given.join(' ')).toBe(2);
      expect(r.stderr).toContain(`launch-ssh: ${set} after -- is set by this script`);
    }
    expect(() => readFileSync(join(base, 'started'))).toThrow();
  });

  it('takes a host as ssh://user@host:port (the URI ssh takes): ssh is given it, scp its port as -P, its files here a name without / or :', () => {
    const dir = join(base, 'uri');
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const seen = join(dir, 'seen.txt');
    // ssh and scp stand-ins: each says what it was given; scp makes the run it copies.
    script(bin, 'ssh', `echo "ssh $*" >> ${seen}; echo "results: /remote/run-\${2//[^a-z]/}" >&2`);
    script(bin, 'scp', `echo "scp $*" >> ${seen}; mkdir -p "$4/$(basename "$3")"`);
    const merge = script(bin, 'merge-stand-in', `echo "merge $*" >> ${seen}`);
    const out = join(dir, 'out');
    const r = spawnSync('bash', [SCRIPT, '--lead', '1', '--out', out, '--local-hsm-bench', merge, 'ssh://u@a:2222', 'ssh://b', '--', 'scale'], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    expect(r.status, r.stderr).toBe(0);
    const lines = readFileSync(seen, 'utf8');
    expect(lines).toMatch(/^ssh -o BatchMode=yes ssh:\/\/u@a:2222 hsm-bench scale /m);
    expect(lines).toMatch(/^ssh -o BatchMode=yes ssh:\/\/b hsm-bench scale /m);
    expect(lines).toMatch(new RegExp(`^scp -rq -P 2222 u@a:/remote/\\S+ ${out}/hosts/u@a_2222/$`, 'm'));
    expect(lines).toMatch(new RegExp(`^scp -rq b:/remote/\\S+ ${out}/hosts/b/$`, 'm'));
    expect(lines).toMatch(new RegExp(`^merge merge ${out}/hosts/u@a_2222/\\S+ ${out}/hosts/b/\\S+ --out ${out}$`, 'm'));
  });

  it('refuses (exit 2) a host ssh does not take, the same host twice, and a --lead out of 1 to 604800 s, before starting any host', () => {
    const runner = script(base, 'never-started.sh', `touch ${join(base, 'started-uri')}`);
    for (const [args, message] of [
      [['ssh://a:99999', 'b'], /host 'ssh:\/\/a:99999' is not one ssh takes: give \[user@\]host or ssh:\/\/\[user@\]host\[:port\]/],
      [['ssh://a:x', 'b'], /host 'ssh:\/\/a:x' is not one ssh takes/],
      [['http://a', 'b'], /host 'http:\/\/a' is not one ssh takes/],
      [['a/b', 'b'], /host 'a\/b' is not one ssh takes/],
      [['a', 'ssh://a'], /host ssh:\/\/a is given twice \(as a\)/],
      [['--lead', '99999999999999999999', 'a', 'b'], /--lead 99999999999999999999 is not from 1 to 604800 seconds \(7 days: hsm-bench refuses a start further ahead/],
      [['--lead', '604801', 'a', 'b'], /--lead 604801 is not from 1 to 604800 seconds/],
      [['--lead', '0', 'a', 'b'], /--lead 0 is not from 1 to 604800 seconds .*0 leaves no time for the set-up/],
    ] as const) {
      const r = launch(['--out', join(base, 'out-refused'), '--runner', runner, ...args, '--', 'scale']);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).not.toMatch(/line \d+:|out of range/);
    }
    expect(() => readFileSync(join(base, 'started-uri'))).toThrow();
  });

  it("ssh's own failure (exit 255) is said as ssh's, not as the run's", () => {
    const runner = script(base, 'no-ssh.sh', 'echo "ssh: connect to host $1 port 22: Connection refused" >&2; exit 255');
    const r = launch(['--lead', '1', '--out', join(base, 'out-255'), '--runner', runner, 'a', 'b', '--', 'scale']);
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(/ssh failed on a \(exit 255/);
  });

  it('a run that cannot be copied back is reported (exit 3), not passed over', () => {
    const runner = script(base, 'ran.sh', 'echo "results: /remote/$1/run" >&2');
    const fetcher = script(base, 'no-copy.sh', 'exit 1');
    const r = launch(['--lead', '1', '--out', join(base, 'out-fetch'), '--runner', runner, '--fetcher', fetcher, 'a', 'b', '--', 'scale']);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/could not copy a:\/remote\/a\/run here \(the fetcher failed\)/);
  });
});

describe('deploy/kubernetes/hsm-bench-job.yaml (kubectl is not here: its fields and its command checked)', () => {
  const job = yaml.load(readFileSync(join(ROOT, 'deploy/kubernetes/hsm-bench-job.yaml'), 'utf8')) as {
    spec: {
      completionMode: string;
      completions: number;
      parallelism: number;
      backoffLimit: number;
      template: { spec: { restartPolicy: string; containers: { command: string[]; args: string[] }[] } };
    };
  };
  const header = readFileSync(join(ROOT, 'deploy/kubernetes/hsm-bench-job.yaml'), 'utf8');
  it('runs every index at once, never again, each into a folder the merge glob takes and the merged run is outside of', () => {
    expect(job.spec.completionMode).toBe('Indexed');
    expect(job.spec.parallelism).toBe(job.spec.completions);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.backoffLimit).toBe(0);
    const args = job.spec.template.spec.containers[0]!.args[0]!;
    expect(args).toMatch(/--out \$out/);
    expect(args).toMatch(/out=\/runs\/hosts\/\$JOB_COMPLETION_INDEX/);
    expect(header).toMatch(/hsm-bench merge \/runs\/hosts\/\*\/\* --out \/runs\/merged/);
  });

  it('exits 0 once a run is written (exit 4 or 5 too: with backoffLimit 0 a failed pod would terminate the others), keeping the code', () => {
    const c = job.spec.template.spec.containers[0]!;
    const dir = tempDir('k8s');
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    script(bin, 'hsm-bench', 'exit "$FAKE_RC"');
    const command = c.args[0]!.replaceAll('/runs/', `${dir}/runs/`);
    for (const [rc, podExit] of [
      [0, 0],
      [4, 0],
      [5, 0],
      [3, 3],
      [2, 2],
    ] as const) {
      const r = spawnSync(c.command[0]!, [...c.command.slice(1), command], {
        encoding: 'utf8',
        env: { PATH: `${bin}:${process.env.PATH}`, JOB_COMPLETION_INDEX: String(rc), START_AT: '2030-01-01T00:00:00Z', FAKE_RC: String(rc) },
      });
      expect(r.status, `hsm-bench exit ${rc}: ${r.stderr}`).toBe(podExit);
      expect(readFileSync(join(dir, 'runs', 'hosts', String(rc), 'exit-code'), 'utf8').trim()).toBe(String(rc));
    }
  });
});

describe('deploy/ansible/hsm-bench.yml', () => {
  const plays = yaml.load(readFileSync(join(ROOT, 'deploy/ansible/hsm-bench.yml'), 'utf8')) as { tasks: Record<string, unknown>[] }[];
  it('starts every host in the background (async, poll 0), so the number of forks does not delay any host past the moment, then waits for each', () => {
    const tasks = plays[0]!.tasks;
    const start = tasks.find((t) => String(t['ansible.builtin.shell'] ?? '').includes('--start-at'))!;
    expect(start.poll).toBe(0);
    expect(start.async).toBeGreaterThan(0);
    const wait = tasks.find((t) => t['ansible.builtin.async_status'] !== undefined)!;
    expect(wait.until).toBe('bench.finished');
    expect(String(wait.failed_when)).toMatch(/not in \[0, 4, 5\]/);
    expect(String(plays[1]!.tasks[0]!['ansible.builtin.shell'])).toMatch(/merge \{\{ local_out \}\}\/hosts\/\*\/\* --out \{\{ local_out \}\}/);
  });
});
