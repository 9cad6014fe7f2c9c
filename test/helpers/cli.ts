import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = new URL('../../bin/hsm-bench', import.meta.url).pathname;

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), `hsm-bench-${prefix}-`));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would, non-interactive (CI set), with its own embedded-token workspace. */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, CI: 'true', ...env }, timeout: 120_000, cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI and calls `act` `delayMs` after stderr shows `when`; resolves when it exits. */
export function runCliAndAct(args: string[], env: Record<string, string>, when: RegExp, delayMs: number, act: (child: ChildProcess) => void): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CI: 'true', ...env } });
    let stdout = '';
    let stderr = '';
    let acted = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!acted && when.test(stderr)) {
        acted = true;
        setTimeout(() => act(child), delayMs);
      }
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Runs the CLI without blocking, so that several can run at once. */
export const runCliAsync = (args: string[], env: Record<string, string>) => runCliAndAct(args, env, /(?!)/, 0, () => {});

/** Starts the CLI and sends `signal` `delayMs` after stderr shows `when`. */
export const runCliAndSignal = (args: string[], env: Record<string, string>, when: RegExp, signal: NodeJS.Signals, delayMs: number) =>
  runCliAndAct(args, env, when, delayMs, (child) => child.kill(signal));

/** The run directory a command reported on stderr ("results: DIR"). */
export function runDirOf(r: CliResult): string {
  const match = /^results: (.+)$/m.exec(r.stderr);
  if (!match) throw new Error(`no run directory in stderr:\n${r.stderr}`);
  return match[1]!;
}

/** The processes under `pid` (from /proc), deepest first: a supervised command runs in a child of the one started. */
export function descendantsOf(pid: number): number[] {
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children = tasks.flatMap((t) => {
    try {
      return readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
  return children.flatMap((c) => [...descendantsOf(c), c]);
}

/** kill -9 of a command and of every process under it at once: a power cut, or an OOM killer that takes them all. */
export function killTree(child: ChildProcess): void {
  for (const pid of descendantsOf(child.pid!)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  child.kill('SIGKILL');
}

/** Whether a process is still there. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the CLI on a pseudo-terminal (a person at a terminal: prompts are asked there), typing `answer` each time the
 * output matches `prompt`. Returns the output and how many times the prompt was answered.
 */
export function runCliOnTerminal(args: string[], env: Record<string, string>, prompt: string, answer: string): CliResult & { prompts: number } {
  const helper = new URL('./pty-answer.py', import.meta.url).pathname;
  const { CI: _ci, ...rest } = process.env;
  const r = spawnSync('python3', [helper, prompt, answer, process.execPath, BIN, ...args], { encoding: 'utf8', env: { ...rest, ...env }, timeout: 180_000 });
  const match = /@@prompts=(\d+) exit=(-?\d+)\s*$/.exec(r.stdout);
  return { status: match ? Number(match[2]) : null, stdout: r.stdout, stderr: r.stderr, prompts: match ? Number(match[1]) : -1 };
}

/** A step of a run driven from outside: once `when` holds (polled on the run directory and stderr), `act`. */
export interface Step {
  when: (dir: string, stderr: string) => boolean;
  act: (child: ChildProcess) => void;
}

/** Starts the CLI (its run directory under `out`) and takes its steps in order; resolves when it exits, with its run directory. */
export function runCliWithSteps(env: Record<string, string>, args: string[], out: string, steps: Step[]): Promise<CliResult & { dir: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CI: 'true', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let dir = '';
    const pending = [...steps];
    const giveUp = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`a step never came:\n${stderr}`));
    }, 90_000);
    const poll = setInterval(() => {
      dir ||= readdirSync(out).map((d) => join(out, d))[0] ?? '';
      if (dir !== '' && pending.length > 0 && pending[0]!.when(dir, stderr)) pending.shift()!.act(child);
    }, 20);
    child.on('close', (status) => {
      clearInterval(poll);
      clearTimeout(giveUp);
      resolve({ status, stdout, stderr, dir });
    });
  });
}

/** The bytes of a file, 0 while it does not exist. */
export const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0);
