import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync, closeSync, constants, openSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInputFile } from '../src/core/input-file.js';
import { jsonErrorOffset, parseJsonText } from '../src/core/json-text.js';
import { makeDirectory } from '../src/core/make-dir.js';
import { writeOutputFile } from '../src/core/output-file.js';
import { ExitCode } from '../src/core/errors.js';
import { BIN, tempDir } from './helpers/cli.js';

// Every input is read bounded in size and type, every output is written into a regular file only, every folder is
// made so that it cannot spin, and so the process always ends (and answers signals): a FIFO, a symlink to /dev/zero
// or a special filesystem in a user's path.

const KIND = { what: 'test file', maxBytes: 1024, exitCode: ExitCode.usage, hint: 'a hint' };
const fifo = (dir: string, name: string) => {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
};
const zero = (dir: string, name: string) => {
  const path = join(dir, name);
  symlinkSync('/dev/zero', path);
  return path;
};

/** The CLI with a bound of its own: a reader that blocks or spins shows as a timeout (status null), not a stuck suite. */
const runBounded = (args: string[]) => {
  const env = { ...process.env, CI: 'true', HSM_BENCH_WORKSPACE: tempDir('guard-ws'), HSM_BENCH_KEK_PASSPHRASE: 'a passphrase' };
  // SIGKILL: a process spinning in a recursive mkdir does not answer SIGTERM.
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env, timeout: 20_000, killSignal: 'SIGKILL' });
  return { status: r.status, stderr: r.stderr };
};

describe('one bounded reader', () => {
  it('refuses a FIFO (without blocking), a device, a folder and a file over its size, before reading a byte', () => {
    const dir = tempDir('reader');
    const big = join(dir, 'big');
    writeFileSync(big, 'x'.repeat(2048));
    for (const [path, message] of [
      [fifo(dir, 'fifo'), /is a pipe \(FIFO\), not a file/],
      [zero(dir, 'zero'), /is a device, not a file/],
      [dir, /is a folder, not a file/],
      [big, /is 2 KiB, more than a test file can be \(1 KiB\)/],
      [join(dir, 'missing'), /does not exist/],
    ] as const) {
      expect(() => readInputFile(path, KIND)).toThrow(message);
    }
    // One byte over: the exact bytes, not "1 KiB, more than … (1 KiB)".
    writeFileSync(big, 'x'.repeat(1025));
    expect(() => readInputFile(big, KIND)).toThrow(/is 1,025 bytes, more than a test file can be \(1,024 bytes\)/);
    writeFileSync(big, 'x'.repeat(1024));
    expect(readInputFile(big, KIND)).toHaveLength(1024);
  });

  it('says where JSON broke, by line and column, never what the text was', () => {
    for (const [text, offset] of [
      ['{"a": 1,}', 8],
      ['[1, 2', 5],
      ['123abc', 3],
      ['abc123', 0],
      ['{"a": "x\u0001"}', 8],
      ['{"a" 1}', 5],
      ['"\\q"', 2],
      ['['.repeat(100000), 100000],
      ['{"a": [1, {"b": null}], "c": "\\u00e9"}', undefined],
    ] as const) {
      expect(jsonErrorOffset(text), text.slice(0, 20)).toBe(offset);
    }
    expect(() => parseJsonText('{\n  "pin": 1\n  246810\n}', '/x.json', KIND)).toThrow(/^the test file \/x.json is not valid JSON at line 3, column 3$/);
    try {
      parseJsonText('246810abc', '/x.json', KIND);
    } catch (error) {
      expect((error as Error).message).not.toContain('246810');
    }
  });
});

describe('folders made so that they cannot spin', () => {
  it('a folder under /proc fails at once with exit 3; nested folders are made; a file in the way is named', () => {
    expect(() => makeDirectory('/proc/hsm-bench-test/x')).toThrow(/cannot create the folder \/proc\/hsm-bench-test: ENOENT/);
    const dir = tempDir('mkdir');
    makeDirectory(join(dir, 'a', 'b', 'c'));
    expect(existsSync(join(dir, 'a', 'b', 'c'))).toBe(true);
    makeDirectory(join(dir, 'a', 'b', 'c'));
    writeFileSync(join(dir, 'file'), '');
    expect(() => makeDirectory(join(dir, 'file', 'x'))).toThrow(/cannot create the folder .*file: a file is in the way/);
  });

  it('every command that makes folders ends with exit 3 on /proc (it spun for ever, deaf to signals)', () => {
    const run = join(tempDir('proc-run'), 'run');
    cpSync(new URL('../fixtures/run-bp256', import.meta.url).pathname, run, { recursive: true });
    for (const args of [
      ['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '10', '--out', '/proc/hsm-bench-test/out'],
      ['scale', '--alg', 'p256', '--tokens', '1', '--workspace', '/proc/hsm-bench-test/ws'],
      ['report', run, run, '--format', 'md', '--out', '/proc/hsm-bench-test/report'],
      ['compare', run, run, '--out', '/proc/hsm-bench-test/compare'],
      ['trend', run, run, '--out', '/proc/hsm-bench-test/trend'],
    ]) {
      const r = runBounded(args);
      expect(r.status, `${args.join(' ')}\n${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(/cannot create the folder \/proc\/hsm-bench-test: ENOENT/);
    }
  });
});

describe('every input file of the CLI goes through the reader', () => {
  const dir = tempDir('inputs');
  const runWith = (name: string, make: (d: string, n: string) => string) => {
    const d = join(dir, name);
    mkdirSync(d);
    make(d, 'run.json');
    return d;
  };
  const checkpointWith = (name: string, make: (d: string, n: string) => string) => {
    const d = join(dir, name);
    mkdirSync(d);
    make(d, 'checkpoint.json');
    return d;
  };
  for (const [kind, make] of [
    ['a FIFO', fifo],
    ['a symlink to /dev/zero', zero],
  ] as const) {
    it(`${kind} given as any input file is refused at once (exit 2), not read for ever`, () => {
      const file = make(dir, `file-${kind.length}`);
      const run = runWith(`run-${kind.length}`, make);
      const resume = checkpointWith(`resume-${kind.length}`, make);
      for (const args of [
        ['run', '--config', file],
        ['scale', '--alg', 'p256', '--tokens', '1', '--reference', file],
        ['scale', '--alg', 'p256', '--tokens', '1', '--baseline', run],
        ['report', run],
        ['compare', run, run],
        ['trend', run, run],
        ['burn-in', '--resume', resume],
        ['keys', 'kek', 'import', '--file', file],
      ]) {
        const r = runBounded(args);
        expect(r.status, `${args.join(' ')}\n${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(kind === 'a FIFO' ? /is a pipe \(FIFO\), not a file/ : /is a device, not a file/);
      }
      const pin = runBounded(['scale', '--alg', 'p256', '--tokens', '1', '--module', '/usr/lib/softhsm/libsofthsm2.so', '--pin-file', file]);
      expect(pin.status).toBe(3);
    });
  }

  it('a records file that is a FIFO is refused, not waited on', () => {
    const run = join(tempDir('fifo-records'), 'run');
    cpSync(new URL('../fixtures/run-bp256', import.meta.url).pathname, run, { recursive: true });
    rmSync(join(run, 'records', 'tokens-1.csv'));
    fifo(join(run, 'records'), 'tokens-1.csv');
    const r = runBounded(['report', run, '--format', 'png']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/the records file .*tokens-1\.csv is a pipe \(FIFO\), not a file/);
  });
});

describe('every output file of the CLI is a regular file or none yet', () => {
  it('a FIFO is refused whether or not a reader holds it open, a device too; a regular file is written whole', () => {
    const dir = tempDir('outputs');
    const path = fifo(dir, 'out');
    expect(() => writeOutputFile(path, 'x')).toThrow(/is a pipe \(FIFO\), not a file/);
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      expect(() => writeOutputFile(path, 'x')).toThrow(/is a pipe \(FIFO\), not a file/);
    } finally {
      closeSync(reader);
    }
    expect(() => writeOutputFile(zero(dir, 'zero'), 'x')).toThrow(/is a device, not a file/);
    writeFileSync(join(dir, 'file'), 'a longer text than the next one');
    writeOutputFile(join(dir, 'file'), 'short');
    expect(readInputFile(join(dir, 'file'), KIND).toString()).toBe('short');
  });

  it('--junit and --save-baseline naming a FIFO or a device are refused before the first signature (exit 2); the JUnit write blocked for ever, deaf to SIGTERM', () => {
    const dir = tempDir('output-flags');
    const out = join(dir, 'reports');
    const scale = ['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '5', '--out', out];
    for (const [args, said] of [
      [[...scale, '--junit', fifo(dir, 'junit.xml')], /--junit .*junit\.xml is a pipe \(FIFO\), not a file/],
      [[...scale, '--junit', zero(dir, 'zero.xml')], /--junit .*zero\.xml is a device, not a file/],
      [[...scale, '--save-baseline', fifo(dir, 'baseline')], /--save-baseline .*baseline is a pipe \(FIFO\)/],
    ] as const) {
      const r = runBounded([...args]);
      expect(r.status, `${args.join(' ')}\n${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(said);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('a FIFO in the place of a file report, compare or trend writes ends the command with exit 2 (a chart: a warning), never waits on it', () => {
    const dir = tempDir('fifo-outputs');
    const run = join(dir, 'run');
    cpSync(new URL('../fixtures/run-bp256', import.meta.url).pathname, run, { recursive: true });
    const folder = (name: string, file: string) => {
      mkdirSync(join(dir, name));
      fifo(join(dir, name), file);
      return join(dir, name);
    };
    /** A copy of the run, whose report is written again in place, with a FIFO where `file` goes. */
    const inPlace = (file: string) => {
      const copy = join(dir, `run-${file.replace('/', '-')}`);
      cpSync(run, copy, { recursive: true });
      mkdirSync(join(copy, dirname(file)), { recursive: true });
      fifo(copy, file);
      return copy;
    };
    for (const [args, file] of [
      [['trend', run, run, '--out', folder('trend', 'trend.csv')], 'trend.csv'],
      [['compare', run, run, '--out', folder('compare', 'comparison.md')], 'comparison.md'],
      [['report', inPlace('report.md.tmp'), '--format', 'md'], 'report.md.tmp'],

      [['compare', run, run, '--out', join(dir, 'compared'), '--junit', fifo(dir, 'compare.xml')], 'compare.xml'],
    ] as const) {
      const r = runBounded([...args]);
      expect(r.status, `${args.join(' ')}\n${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`${file} is a pipe (FIFO), not a file`);
    }
    // A chart that cannot be written is a warning, as one that cannot be drawn: the reports are still written.
    const charts = runBounded(['report', inPlace('charts/throughput.png'), '--format', 'png,md']);
    expect(charts.status, charts.stderr).toBe(0);
    expect(charts.stderr).toMatch(/warning: .*throughput\.png is a pipe \(FIFO\), not a file/);
  });
});
