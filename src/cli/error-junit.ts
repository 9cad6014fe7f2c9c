import { writeFileSync } from 'node:fs';
import { renderErrorJunit } from '../report/junit.js';

/**
 * With --junit FILE, a run that stopped with an error (before signing, or its process killed by a module) still
 * leaves its JUnit file, with the error in it.
 */
export function writeErrorJunit(message: string): void {
  const args = process.argv.slice(2);
  const at = args.findIndex((a) => a === '--junit' || a.startsWith('--junit='));
  const file = at < 0 ? undefined : args[at]!.startsWith('--junit=') ? args[at]!.slice('--junit='.length) : args[at + 1];
  if (file === undefined || file === '' || file.startsWith('-')) return;
  try {
    writeFileSync(file, renderErrorJunit(args[0] ?? 'hsm-bench', message));
  } catch {
    // The JUnit path itself may be what was wrong; the message on stderr says so.
  }
}
