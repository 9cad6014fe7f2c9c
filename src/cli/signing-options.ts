import { Command } from 'commander';
import { ALGORITHMS } from '../pkcs11/algorithms.js';

/** The signing flags of scale and burn-in; `warmup` differs: scale warms up by default, a burn-in does not need to. */
export function addSigningOptions(command: Command, warmupDefault: string): Command {
  return command
    .option('--alg <alg>', `key algorithm: ${ALGORITHMS.map((a) => a.id).join(', ')}`)
    .option('--mechanism <mechanism>', 'pkcs1 (default) or pss for RSA; ecdsa for EC')
    .option('--warmup <count>', 'signatures per token before the measured window, not counted', warmupDefault)
    .option('--threads-per-token <count>', 'sessions signing at once on each token', '1')
    .option('--verify <mode>', 'host verification: all, none, or a sample rate such as 0.01', 'all')
    .option('--verify-threads <count>', 'threads that verify signatures beside the signers (default: the cores but one)')
    .option('--key-label <label>', 'label of the key pair to sign with (default hsm-bench-<alg>)')
    .option('--out <dir>', 'parent folder of the run directory', 'reports')
    .option('--json', 'print run.json to stdout instead of the table or summary');
}
