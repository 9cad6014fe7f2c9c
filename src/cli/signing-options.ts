import { Command } from 'commander';
import { DEFAULT_FORMATS } from '../report/write-reports.js';
import { SCALE_DEFAULTS } from '../plan/plan-flags.js';
import { ExitCode } from '../core/errors.js';
import { mechanismHelp, OPERATIONS } from '../operations/registry.js';

/** The measurement flags of scale and burn-in; `warmup` differs: scale warms up by default, a burn-in does not need to. */
export function addSigningOptions(command: Command, warmupDefault: string): Command {
  return command
    .optionsGroup('Measurement:')
    .option('--op <operation>', `what each call does: ${OPERATIONS.map((o) => o.name).join(', ')} (default: sign)`)
    .option('--mix <list>', 'a workload of several operations drawn call by call in proportion: OP[/ALG][:WEIGHT],…, e.g. sign:80,decrypt:20')
    .option('--alg <alg>', `algorithm (required for sign): ${OPERATIONS.map((o) => `${o.name}: ${o.algorithms.join('|')}`).join('; ')}`)
    .option(
      '--mechanism <mechanism>',
      `${mechanismHelp()} (the first is the default; see docs/operations.md); or any mechanism by PKCS#11 name or number (CKM_ML_DSA, 0x80000001) with --key-label, counted and timed, never checked on the host`,
    )
    .option(
      '--mechanism-params <file>',
      "a file of the raw bytes of --mechanism's parameter (with a mechanism by PKCS#11 name or number; not with derive, whose ECDH parameter holds a pointer), passed to the module as they are",
    )
    .option('--warmup <count>', 'calls per token before the measured window, not counted', warmupDefault)
    .option('--threads-per-token <count>', 'sessions calling at once on each token (scale: a list such as 1,2,4,8 sweeps them)', SCALE_DEFAULTS.threadsPerToken)
    .option('--verify <mode>', 'host check of the outputs: all, none, or a sample rate such as 0.01', SCALE_DEFAULTS.verify)
    .option('--verify-threads <count>', 'threads that check outputs on the host beside the sessions (default: the cores but one)')
    .option('--call-timeout <time>', "a call in flight longer than this is timed out, its session abandoned (default: 10 × the token's slowest call, at least 10s)")
    .option(
      '--session-per-call',
      'each call opens its own session (logging in where closing the last one logged the token out), finds its key and closes the session, as an application that pools nothing does',
    )
    .option('--find-key-per-call', 'each call finds its key again (C_FindObjects) in the pooled session')
    .option('--no-calibrate', "skip measuring the harness's own per-call overhead (0.1 s of null calls before the first configuration)")
    .option(
      '--data-size <list>',
      'bytes each call hands the token (digest, mac, encrypt; sign with a hash-in-token mechanism), k = 1024, M = 1024²: a list such as 32,1k,64k,1M sweeps them (scale; one for burn-in); default: 32',
    )
    .option('--multipart <chunk>', 'each call as C_*Init, C_*Update per chunk of this many bytes (e.g. 64k), C_*Final, timed as one call (needs --data-size)')
    .option(
      '--start-at <time>',
      'open the first measured window at this moment, after the set-up, on every host given it: RFC 3339 UTC (2026-12-04T01:00:00Z) or +30s from now (each host counts it from its own clock: across hosts give a time)',
    )
    .option('--settle <time>', "with --start-at: between one configuration's planned window and the next one's opening, for its stop, checks and sessions (default 10s)")
    .option('--key-id <hex>', 'CKA_ID of the key, in hex, with or instead of --key-label (with a mechanism by PKCS#11 name or number)')
    .option('--key-label <label>', 'label of the key pair (default: hsm-bench-<alg> to sign and verify, hsm-bench-<alg>-decrypt, hsm-bench-<alg>-derive)');
}

/** Where results go: the run directory's parent, and run.json on stdout instead of the table. */
export function addOutputOptions(command: Command): Command {
  return command
    .optionsGroup('Output:')
    .option('--out <dir>', 'parent folder of the run directory', SCALE_DEFAULTS.out)
    .option('--format <list>', `reports to write beside run.json and the records: ${DEFAULT_FORMATS.join(', ')} (png writes svg too)`, DEFAULT_FORMATS.join(','))
    .option('--json', 'print run.json to stdout instead of the table or summary')
    .option('--records <mode>', "which calls' records go to disk: all, failures, none (results and reports are the same; default: all)")
    .option('--metrics-listen <[host:]port>', 'serve live metrics at http://HOST:PORT/metrics while it runs, for Prometheus (host: 127.0.0.1 unless given)');
}

/** The exit codes, as docs/reference/exit-codes.md lists them: at the end of every signing command's --help. */
export const EXIT_CODES_HELP = `
Exit codes:
  ${ExitCode.ok}  everything passed (an inconclusive check does not fail)
  ${ExitCode.usage}  bad input (a flag, a file): nothing was signed
  ${ExitCode.setup}  set-up failed (a module that refused, crashed or hung; tokens, PIN, keys, a file that cannot be written)
  ${ExitCode.operationsFailed}  operations failed (a wrong result counts), a session stopped, or the module crashed a burn-in's process
  ${ExitCode.thresholdFailed}  a threshold or the baseline failed
  ${ExitCode.interrupted}  interrupted (Ctrl-C): results are partial
  (${ExitCode.internal}  a bug: run again with HSM_BENCH_DEBUG=1 and report the stack trace)`;
