/**
 * Synchronous work that must happen however the process ends: through Node's exit, or through an exit at once that
 * skips Node's teardown (src/measure/threads-left.ts: a thread left inside a module). Records held in memory are
 * written this way, so that every call recorded stays countable.
 */
const hooks = new Set<() => void>();

/** Runs `hook` when the process ends; the function returned takes it back. */
export function atExit(hook: () => void): () => void {
  hooks.add(hook);
  return () => hooks.delete(hook);
}

/** Runs every hook once; one that fails does not keep the others from running. */
export function runExitHooks(): void {
  for (const hook of [...hooks]) {
    hooks.delete(hook);
    try {
      hook();
    } catch {
      // The process is ending: what could not be done is lost either way, and the others still run.
    }
  }
}

process.on('exit', runExitHooks);
