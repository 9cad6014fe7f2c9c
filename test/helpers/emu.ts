import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { BIN, type CliResult } from './cli.js';

/**
 * The emulated PKCS#11 stacks that test/emu/with-stacks.sh starts (from ../shared/emu) and describes in
 * HSM_BENCH_TEST_* variables. Outside that script both are undefined and their tests skip:
 *
 *   describe.skipIf(!pico)(suiteTitle('pico-hsm tokens', 'pico'), () => { ... pico!.module ... });
 *
 * With HSM_BENCH_EMU_REQUIRED=1 (CI) importing this module throws when a stack is missing, so a broken
 * set-up fails the run instead of silently skipping its tests.
 */

/** Emulated SmartCard-HSM tokens behind a private pcscd, reached through OpenSC. */
export interface PicoStack {
  /** opensc-pkcs11.so */
  module: string;
  /** Number of tokens: slot indexes 0..tokens-1, slot ID 4*i, description `Virtual PCD <i/2> 00 0<i%2>`. */
  tokens: number;
  /** User PIN of every token (3 wrong ones lock a token until the next with-stacks.sh run). */
  pin: string;
  /** SO-PIN of every token (pico-hsm-init-keys.sh's), for tests that initialise tokens again. */
  soPin: string;
  /** Every token has this label and serial: select tokens by slot, never by label or serial. */
  tokenLabel: string;
  /** Key labels (ids 01 and 02) on every token. */
  keys: { rsa2048: string; bp256: string };
  /** pico-hsm-replug.sh; use picoReplug(). */
  replugScript: string;
  /** The stacks' scratch dir (EMU of the shared scripts). */
  emu: string;
}

/** SoftHSM2 tokens of two "hosts", reached through p11-kit's RPC (client module + server, or the proxy). */
export interface P11KitStack {
  /** p11-kit-client.so: the tokens of host A, via the server at `address`; see clientEnv(). */
  clientModule: string;
  /** unix:path=... for P11_KIT_SERVER_ADDRESS (not set globally: only where a test passes clientEnv()). */
  address: string;
  /** p11-kit-proxy.so: both hosts in one process; only usable inside proxyRun (see proxyCommand()). */
  proxyModule: string;
  /** p11kit-proxy-run.sh: runs its arguments where the proxy sees only the two hosts. */
  proxyRun: string;
  /** User PIN of every token. */
  pin: string;
  /** SOFTHSM2_CONF of host A's tokens, for direct access with libsofthsm2.so. */
  softhsmConf: string;
  /** Token labels of host A (also what the server exports) and of host B (proxy only). */
  hostA: readonly string[];
  hostB: readonly string[];
  /** Key labels (ids 01 and 02) on every token. */
  keys: { rsa2048: string; bp256: string };
  /** The stacks' scratch dir (EMU of the shared scripts). */
  emu: string;
}

/** The same emulated SmartCard-HSMs as `pico`, through CardContact's own module (sc-hsm-embedded). */
export interface ScHsmStack {
  /** libsc-hsm-pkcs11.so, built by ../shared/emu/sc-hsm-embedded-build.sh. */
  module: string;
  /** As many as pico's; its slot ids are its own (list them), its label `Pico-HSM`, its serial empty. */
  tokens: number;
  pin: string;
  tokenLabel: string;
  keys: { rsa2048: string; bp256: string };
}

/** A software TPM (swtpm behind tpm2-abrmd) through tpm2-pkcs11, with one token `tpm0`. */
export interface TpmStack {
  /** libtpm2_pkcs11.so */
  module: string;
  pin: string;
  tokenLabel: string;
  /** What a process needs to reach the TPM (TPM2_PKCS11_STORE, TPM2_PKCS11_TCTI, TPM2TOOLS_TCTI, the private D-Bus). */
  env: Record<string, string>;
}

const env = process.env;
const REQUIRED = env.HSM_BENCH_EMU_REQUIRED === '1';
const KEYS = { rsa2048: 'rsa2048', bp256: 'bp256' } as const;
const HOW = 'run the tests through test/emu/with-stacks.sh (npm run test:emu)';

/**
 * The values of `names`, or why the stack is missing: with-stacks.sh's reason (`unavailable`) when it could
 * not start it, "not started" without with-stacks.sh (the first name is unset), else the unset variables.
 */
function read<const N extends string>(unavailable: string, names: readonly [N, ...N[]]): Record<N, string> | string {
  if (env[unavailable]) return `unavailable: ${env[unavailable]}`;
  if (!env[names[0]]) return `not started: ${HOW}`;
  const missing = names.filter((n) => !env[n]);
  if (missing.length > 0) return `incomplete environment, ${missing.join(', ')} not set: ${HOW}`;
  return Object.fromEntries(names.map((n) => [n, env[n]!])) as Record<N, string>;
}

const picoVars = read('HSM_BENCH_TEST_PICO_UNAVAILABLE', ['HSM_BENCH_TEST_PICO_MODULE', 'HSM_BENCH_TEST_PICO_TOKENS', 'HSM_BENCH_TEST_PICO_PIN', 'HSM_BENCH_TEST_PICO_REPLUG', 'HSM_BENCH_TEST_EMU']);
const p11kitVars = read('HSM_BENCH_TEST_P11KIT_UNAVAILABLE', [
  'HSM_BENCH_TEST_P11KIT_CLIENT',
  'HSM_BENCH_TEST_P11KIT_ADDRESS',
  'HSM_BENCH_TEST_P11KIT_PROXY',
  'HSM_BENCH_TEST_P11KIT_PROXY_RUN',
  'HSM_BENCH_TEST_SHSM_PIN',
  'HSM_BENCH_TEST_SHSM_CONF',
  'HSM_BENCH_TEST_EMU',
]);

const schsmVars = read('HSM_BENCH_TEST_SCHSM_UNAVAILABLE', ['HSM_BENCH_TEST_SCHSM_MODULE', 'HSM_BENCH_TEST_PICO_TOKENS', 'HSM_BENCH_TEST_PICO_PIN']);
const tpmVars = read('HSM_BENCH_TEST_TPM_UNAVAILABLE', ['HSM_BENCH_TEST_TPM_MODULE', 'HSM_BENCH_TEST_TPM_PIN', 'HSM_BENCH_TEST_TPM_ENV']);

export const pico: PicoStack | undefined =
  typeof picoVars === 'string'
    ? undefined
    : {
        module: picoVars.HSM_BENCH_TEST_PICO_MODULE,
        tokens: Number(picoVars.HSM_BENCH_TEST_PICO_TOKENS),
        pin: picoVars.HSM_BENCH_TEST_PICO_PIN,
        soPin: '3537363231383830',
        tokenLabel: 'Pico-HSM (UserPIN)',
        keys: KEYS,
        replugScript: picoVars.HSM_BENCH_TEST_PICO_REPLUG,
        emu: picoVars.HSM_BENCH_TEST_EMU,
      };

export const p11kit: P11KitStack | undefined =
  typeof p11kitVars === 'string'
    ? undefined
    : {
        clientModule: p11kitVars.HSM_BENCH_TEST_P11KIT_CLIENT,
        address: p11kitVars.HSM_BENCH_TEST_P11KIT_ADDRESS,
        proxyModule: p11kitVars.HSM_BENCH_TEST_P11KIT_PROXY,
        proxyRun: p11kitVars.HSM_BENCH_TEST_P11KIT_PROXY_RUN,
        pin: p11kitVars.HSM_BENCH_TEST_SHSM_PIN,
        softhsmConf: p11kitVars.HSM_BENCH_TEST_SHSM_CONF,
        hostA: ['shsm0', 'shsm1'],
        hostB: ['hostb0'],
        keys: KEYS,
        emu: p11kitVars.HSM_BENCH_TEST_EMU,
      };

export const schsm: ScHsmStack | undefined =
  typeof schsmVars === 'string'
    ? undefined
    : {
        module: schsmVars.HSM_BENCH_TEST_SCHSM_MODULE,
        tokens: Number(schsmVars.HSM_BENCH_TEST_PICO_TOKENS),
        pin: schsmVars.HSM_BENCH_TEST_PICO_PIN,
        tokenLabel: 'Pico-HSM',
        keys: KEYS,
      };

export const tpm: TpmStack | undefined =
  typeof tpmVars === 'string'
    ? undefined
    : {
        module: tpmVars.HSM_BENCH_TEST_TPM_MODULE,
        pin: tpmVars.HSM_BENCH_TEST_TPM_PIN,
        tokenLabel: 'tpm0',
        env: Object.fromEntries(tpmVars.HSM_BENCH_TEST_TPM_ENV.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
      };

type StackName = 'pico' | 'p11kit' | 'schsm' | 'tpm';
const STACK_VARS = { pico: picoVars, p11kit: p11kitVars, schsm: schsmVars, tpm: tpmVars };

/** Why a stack is missing, or undefined when it is up. */
export function missingReason(stack: StackName): string | undefined {
  const vars = STACK_VARS[stack];
  return typeof vars === 'string' ? vars : undefined;
}

/** A suite title that carries the skip reason, since vitest shows none for describe.skipIf. */
export function suiteTitle(title: string, stack: StackName): string {
  const why = missingReason(stack);
  return why ? `${title} [skipped: ${stack} stack ${why}]` : title;
}

/** Throws when HSM_BENCH_EMU_REQUIRED=1 and a stack is missing; runs when this module is imported. */
export function requireStacks(): void {
  if (!REQUIRED) return;
  const missing = (['pico', 'p11kit', 'schsm', 'tpm'] as const).flatMap((s) => {
    const why = missingReason(s);
    return why ? [`${s} stack ${why}`] : [];
  });
  if (missing.length > 0) throw new Error(`HSM_BENCH_EMU_REQUIRED=1 but ${missing.join('; ')}`);
}
requireStacks();

const need = <S>(stack: S | undefined, name: StackName): S => {
  if (!stack) throw new Error(`the ${name} stack is ${missingReason(name)}`);
  return stack;
};

/** Environment for p11-kit-client.so: the server's address (the shared scripts also need EMU). */
export function clientEnv(): Record<string, string> {
  return { P11_KIT_SERVER_ADDRESS: need(p11kit, 'p11kit').address };
}

/**
 * How to run the built CLI through p11-kit-proxy.so: argv (proxy-run wrapper, node, bin/hsm-bench, args)
 * and the environment (non-interactive like runCli; EMU, which the wrapper finds the configs by).
 * Pass `--module p11kit.proxyModule` in `args`.
 */
export function proxyCommand(args: string[], extraEnv: Record<string, string> = {}): { argv: string[]; env: NodeJS.ProcessEnv } {
  const s = need(p11kit, 'p11kit');
  return {
    argv: [s.proxyRun, process.execPath, BIN, ...args],
    env: { ...process.env, CI: 'true', EMU: s.emu, ...extraEnv },
  };
}

/** runCli, through p11-kit-proxy.so (see proxyCommand). */
export function runCliViaProxy(args: string[], extraEnv: Record<string, string> = {}): CliResult {
  const { argv, env: childEnv } = proxyCommand(args, extraEnv);
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: childEnv, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Replug {
  child: ChildProcess;
  /** Resolves when the script has ended (the token plugged back in, unless 'off'); rejects if it failed. */
  done: Promise<CliResult>;
}

/**
 * Unplugs pico token `index` (0-based; = slot index) and plugs it back in after `seconds`, in the background
 * ('off' / 'on': only one half). A C_Sign in flight on it fails with CKR_GENERAL_ERROR; the slot lists as
 * empty until ~0.5 s after the plug-in. Await `done` before the test ends.
 */
export function picoReplug(index: number, seconds: number | 'off' | 'on'): Replug {
  const s = need(pico, 'pico');
  const child = spawn(s.replugScript, [String(index), String(seconds)], { env: { ...process.env, EMU: s.emu } });
  const done = new Promise<CliResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status === 0) resolve({ status, stdout, stderr });
      else reject(new Error(`pico-hsm-replug.sh ${index} ${seconds} exited with ${status}:\n${stdout}${stderr}`));
    });
  });
  return { child, done };
}
