import { linkSync, readFileSync, rmSync, lstatSync } from 'node:fs';
import { writeOutputFile } from './output-file.js';
import { join } from 'node:path';
import { ExitCode, setupError } from './errors.js';
import { readInputText } from './input-file.js';
import { makeDirectory } from './make-dir.js';
import { shown } from './quote.js';
import { fileType } from './file-type.js';

/** Directories this process holds; released when it exits normally or through main's error path. */
const held = new Set<string>();

/**
 * A process as a lock names it: its PID, and (on Linux) its start time in clock ticks since boot and the boot's id.
 * A PID alone is reused: after a crash or a reboot another process may have it, and the lock would hold for ever.
 */
interface Holder {
  pid: number;
  startTicks?: string;
  bootId?: string;
}

/** A kernel file of /proc: what it says, or undefined where the process or the file is gone. */
const readProc = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** A lock file holds its holder in one short line; anything else there (a FIFO planted in its place) names no holder. */
const LOCK_FILE = { what: 'lock file', maxBytes: 256, exitCode: ExitCode.setup, hint: '' };
const readLock = (path: string): string | undefined => {
  try {
    return readInputText(path, LOCK_FILE).trim();
  } catch {
    return undefined;
  }
};

/** Fields of /proc/PID/stat from the third on (after the command name, which may hold spaces and parentheses). */
const statOf = (pid: number): string[] | undefined => readProc(`/proc/${pid}/stat`)?.split(') ').at(-1)?.split(' ');
/** Field 22: when the process started, in clock ticks since boot. */
const startTicksOf = (pid: number): string | undefined => statOf(pid)?.[19];
const bootId = (): string | undefined => readProc('/proc/sys/kernel/random/boot_id');

const self = (): Holder => ({ pid: process.pid, startTicks: startTicksOf(process.pid), bootId: bootId() });

const holderText = (h: Holder) => [h.pid, h.startTicks ?? '-', h.bootId ?? '-'].join(' ');

/** The process named in a lock file; undefined when the file is gone (released meanwhile) or names no process. */
function holderOf(path: string): Holder | undefined {
  const [pid, startTicks, boot] = (readLock(path) ?? '').split(' ');
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0) return undefined;
  return { pid: n, startTicks: startTicks === '-' ? undefined : startTicks, bootId: boot === '-' ? undefined : boot };
}

/** Whether a process's command line names hsm-bench; undefined where /proc does not say. */
const runsHsmBench = (pid: number): boolean | undefined => readProc(`/proc/${pid}/cmdline`)?.includes('hsm-bench');

/** Whether the process a lock names is still the one that wrote it: alive, same boot, same start time. */
function alive(h: Holder): boolean {
  if (h.bootId !== undefined && bootId() !== undefined && h.bootId !== bootId()) return false;
  try {
    process.kill(h.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = statOf(h.pid);
  // A process killed and not yet reaped by its parent (a zombie) holds nothing any more.
  if (stat?.[0] === 'Z' || stat?.[0] === 'X') return false;
  // A lock of an older hsm-bench names only a PID: it holds while that PID runs hsm-bench (PID 1, or a PID since
  // reused by another program, holds nothing).
  if (h.startTicks === undefined) return runsHsmBench(h.pid) !== false;
  return stat === undefined || stat[19] === h.startTicks;
}

const sameProcess = (a: Holder, b: Holder) => a.pid === b.pid && a.startTicks === b.startTicks;

/**
 * Takes a directory for this process, for as long as it runs: the embedded workspace (two processes would both
 * create the same tokens and keys, and sign on the same tokens, each bending the other's numbers) and a burn-in's
 * run directory (two resumes at once would both append to its records). A lock appears whole, with its holder in
 * it, or not at all (a hard link of a file already written), and a dead holder's lock is taken over under a
 * second lock, so that two processes never both remove it and both go on. A lock held by this process's parent
 * is this process's too: a supervisor holds a burn-in's run directory while it restarts the burn-in in a child.
 */
export function lockDirectory(dir: string, what: string, hint: string): void {
  if (held.has(dir)) return;
  makeDirectory(dir, 0o700);
  const path = join(dir, 'lock');
  const takeover = `${path}.takeover`;
  const mine = `${path}.${process.pid}`;
  const me = self();
  const inUse = (h: Holder) => setupError(`${what} ${shown(dir)} is in use by another hsm-bench (process ${h.pid})`, `${hint}; if no hsm-bench runs there, remove ${shown(path)}`);
  writeOutputFile(mine, holderText(me), 0o600);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(mine, path);
        held.add(dir);
        if (held.size === 1) process.on('exit', releaseAll);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw setupError(`cannot lock ${what} ${shown(dir)}: ${(error as NodeJS.ErrnoException).code}`, hint, error);
      }
      const info = lstatSync(path, { throwIfNoEntry: false });
      // Not removed: a folder (or a link) there is no lock hsm-bench made, and it may hold what someone put there.
      if (info !== undefined && !info.isFile() && !info.isFIFO()) {
        throw setupError(
          `cannot lock ${what} ${shown(dir)}: ${shown(path)} is ${fileType(info)}, not a lock file hsm-bench wrote`,
          `remove ${shown(path)} (hsm-bench keeps its lock in a file of that name)`,
        );
      }
      const holder = holderOf(path);
      if (holder !== undefined && holder.pid === process.ppid && alive(holder)) {
        // The supervisor's: it keeps the lock (and releases it when it ends).
        held.add(dir);
        return;
      }
      if (holder !== undefined && !sameProcess(holder, me) && alive(holder)) throw inUse(holder);
      try {
        linkSync(mine, takeover);
      } catch {
        const other = holderOf(takeover);
        if (other !== undefined && alive(other)) throw inUse(other);
        rmSync(takeover, { force: true });
        continue;
      }
      try {
        const now = holderOf(path);
        if (now?.pid === holder?.pid && now?.startTicks === holder?.startTicks) rmSync(path, { force: true });
      } finally {
        rmSync(takeover, { force: true });
      }
    }
    throw setupError(`cannot lock ${what} ${shown(dir)}: another process keeps taking it`, hint);
  } finally {
    rmSync(mine, { force: true });
  }
}

function releaseAll(): void {
  const me = self();
  for (const dir of held) {
    const path = join(dir, 'lock');
    const holder = holderOf(path);
    if (holder !== undefined && sameProcess(holder, me)) rmSync(path, { force: true });
  }
  held.clear();
}
