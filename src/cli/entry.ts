import { registerKnownSecrets } from '../secrets/known-secrets.js';
import { needsSupervisor, supervise } from './supervisor.js';

/**
 * The process a user starts. A command that loads a user's module (and every burn-in) runs under a supervisor, in a
 * child process of its own; everything else runs here. Decided before the program is loaded: the supervisor's
 * process needs none of it but the secrets it must never quote.
 */
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // Answered before the program and its packages load (~0.3 s of CPU): scripts ask it on every call.
  const { TOOL_VERSION } = await import('../core/version.js');
  process.stdout.write(`${TOOL_VERSION}\n`);
} else if (needsSupervisor(args, process.env)) {
  registerKnownSecrets(process.argv);
  await supervise(process.argv[1]!, args);
} else await import('./main.js');
