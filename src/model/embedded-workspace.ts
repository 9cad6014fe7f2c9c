import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const EMBEDDED_LABEL_PREFIX = 'hsm-bench-';

/** The embedded tokens' user PIN, in the workspace beside them (mode 0600). */
export const EMBEDDED_PIN_FILE = 'user-pin';

export function defaultWorkspace(): string {
  if (process.env.HSM_BENCH_WORKSPACE) return resolve(process.env.HSM_BENCH_WORKSPACE);
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hsm-bench', 'softhsm');
}
