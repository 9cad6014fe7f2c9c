import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Listing } from '../src/cli/list.js';
import type { RunResult } from '../src/model/run-result.js';
import { BIN, runCli, runDirOf, tempDir, runCliOnTerminal } from './helpers/cli.js';
import { buildFaultyModule, ExternalSoftHsm, SPY_MODULE, TEST_PIN } from './helpers/softhsm-module.js';

// Where a PIN may go, counted through pkcs11-spy: a login only on the tokens a command selected, none where no
// login is needed, and none at all for a PIN that cannot be right or a token whose next wrong PIN locks it.

/** C_Login calls per slot id (decimal), from a pkcs11-spy log: each login's session mapped to the slot it was opened on. */
function loginsBySlot(log: string): Record<string, number> {
  const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
  const slotOfSession = new Map<string, string>();
  const counts: Record<string, number> = {};
  for (const entry of text.split(/\n(?=\d+: C_)/)) {
    if (/^\d+: C_OpenSession\b/.test(entry)) {
      const slot = /\[in\] slotID = 0x([0-9a-f]+)/.exec(entry)?.[1];
      const session = /\[out\] \*phSession = (0x[0-9a-f]+)/.exec(entry)?.[1];
      if (slot !== undefined && session !== undefined) slotOfSession.set(session, BigInt(`0x${slot}`).toString());
    } else if (/^\d+: C_Login\b/.test(entry)) {
      const slot = slotOfSession.get(/\[in\] hSession = (0x[0-9a-f]+)/.exec(entry)?.[1] ?? '') ?? '?';
      counts[slot] = (counts[slot] ?? 0) + 1;
    }
  }
  return counts;
}

const hsm = new ExternalSoftHsm();
let slotOf: Record<string, string>;
const spied = (extra: Record<string, string> = {}) => {
  const log = join(tempDir('pin-spy'), 'spy.log');
  return { log, env: { ...hsm.spyEnv(log), HSM_BENCH_PIN: TEST_PIN, ...extra } };
};

beforeAll(() => {
  for (const label of ['pin-A', 'pin-B', 'pin-C']) hsm.initToken(label);
  for (const label of ['pin-A', 'pin-B']) hsm.generateKey(label, 'EC:prime256v1', 'pin-key');
  const listing: Listing = JSON.parse(runCli(['list', '--json', '--module', hsm.module], hsm.env).stdout);
  slotOf = Object.fromEntries(listing.slots.filter((s) => s.token?.initialized).map((s) => [s.token!.label, s.slotId]));
});

describe('a login only on the tokens a command selected (a module with three tokens)', () => {
  it('list and list --mechanisms log in nowhere; list --keys without a selection lists public objects and says how to see the private ones', () => {
    for (const args of [['list'], ['list', '--mechanisms'], ['list', '--keys']]) {
      const { log, env } = spied();
      const r = runCli([...args, '--module', SPY_MODULE], env);
      expect(r.status, r.stderr).toBe(0);
      expect(loginsBySlot(log)).toEqual({});
      if (args.includes('--keys')) {
        expect(r.stdout).toMatch(/key pair 'pin-key' id 0a0b: EC prime256v1, private key not checked/);
        expect(r.stdout).toMatch(
          /note: private keys are hidden: hsm-bench presents the PIN only to tokens you name; name the tokens to log in to \(--slots, --serials, --token-label, --token-uri, or --all-tokens\)/,
        );
      }
    }
  });

  it('list --keys logs in to the tokens named, once each, and to every token with --all-tokens', () => {
    const one = spied();
    expect(runCli(['list', '--keys', '--token-label', 'pin-B', '--module', SPY_MODULE], one.env).status).toBe(0);
    expect(loginsBySlot(one.log)).toEqual({ [slotOf['pin-B']!]: 1 });
    const all = spied();
    const r = runCli(['list', '--keys', '--all-tokens', '--module', SPY_MODULE], all.env);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/private key not checked/);
    expect(loginsBySlot(all.log)).toEqual({ [slotOf['pin-A']!]: 1, [slotOf['pin-B']!]: 1, [slotOf['pin-C']!]: 1 });
  });

  it('keys create, keys delete, keys kek import and a run that would have to choose refuse (exit 2) without any login', () => {
    const share = join(tempDir('pin-kek'), 'share.json');
    expect(runCli(['keys', 'kek', 'create', '--file', share], { HSM_BENCH_KEK_PASSPHRASE: 'a passphrase' }).status).toBe(0);
    for (const args of [
      ['keys', 'create', '--alg', 'p256', '--label', 'never'],
      ['keys', 'delete', '--label', 'pin-key', '--yes'],
      ['keys', 'kek', 'import', '--file', share],
      ['scale', '--alg', 'p256', '--key-label', 'pin-key', '--tokens', '1', '--out', tempDir('pin-out')],
      ['burn-in', '--alg', 'p256', '--key-label', 'pin-key', '--tokens', '2', '--signatures', '10', '--out', tempDir('pin-out')],
    ]) {
      const { log, env } = spied({ HSM_BENCH_KEK_PASSPHRASE: 'a passphrase' });
      const r = runCli([...args, '--module', SPY_MODULE], env);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/the module shows 3 initialized tokens and none was named: hsm-bench presents the PIN only to tokens you name/);
      expect(r.stderr).toMatch(/hint: name them with --slots, --serials, --token-label or --token-uri \(see 'hsm-bench list'\), or take every one with --all-tokens/);
      expect(loginsBySlot(log)).toEqual({});
    }
  });

  it('keys create and scale log in once to the token named, and nowhere else', () => {
    const created = spied();
    const r = runCli(['keys', 'create', '--alg', 'p256', '--label', 'named-key', '--slots', slotOf['pin-C']!, '--module', SPY_MODULE], created.env);
    expect(r.status, r.stderr).toBe(0);
    expect(loginsBySlot(created.log)).toEqual({ [slotOf['pin-C']!]: 1 });
    const scaled = spied();
    const s = runCli(
      ['scale', '--alg', 'p256', '--key-label', 'pin-key', '--serials', serialOf('pin-B'), '--tokens', '1', '--signatures-per-token', '20', '--out', tempDir('pin-out'), '--module', SPY_MODULE],
      scaled.env,
    );
    expect(s.status, s.stderr).toBe(0);
    expect(loginsBySlot(scaled.log)).toEqual({ [slotOf['pin-B']!]: 1 });
  });

  it('keys clone --from/--to logs in to those tokens only, the source first: a source key that cannot be cloned costs the target no try', () => {
    const { log, env } = spied();
    // The key is not extractable: the clone stops once the source is logged in to, before the PIN goes to the target.
    const r = runCli(['keys', 'clone', '--label', 'pin-key', '--from', slotOf['pin-A']!, '--to', slotOf['pin-C']!, '--module', SPY_MODULE], env);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/was created non-extractable/);
    expect(loginsBySlot(log)).toEqual({ [slotOf['pin-A']!]: 1 });
  });
});

const serialOf = (label: string): string => {
  const listing: Listing = JSON.parse(runCli(['list', '--json', '--module', hsm.module], hsm.env).stdout);
  return listing.slots.find((s) => s.token?.label === label)!.token!.serial;
};

describe('a PIN that cannot be right is refused before any token sees it, and never quoted', () => {
  const pinFile = (content: string | Buffer) => {
    const file = join(tempDir('pin-file'), 'pin');
    writeFileSync(file, content);
    return file;
  };
  const cases: [string, Record<string, string>, string[], RegExp][] = [
    ['a trailing newline in the variable', { HSM_BENCH_PIN: `${TEST_PIN}\n` }, [], /the PIN in HSM_BENCH_PIN has spaces or a line break before or after it; hsm-bench did not present it/],
    ['a trailing space in the variable', { HSM_BENCH_PIN: `${TEST_PIN} ` }, [], /the PIN in HSM_BENCH_PIN has spaces or a line break before or after it/],
    ['a tab inside the variable', { HSM_BENCH_PIN: `${TEST_PIN.slice(0, 3)}\t${TEST_PIN.slice(3)}` }, [], /the PIN in HSM_BENCH_PIN has a control character in it/],
    ['an empty variable', { HSM_BENCH_PIN: '' }, [], /the PIN in HSM_BENCH_PIN is empty; hsm-bench did not present it/],
    ['a NUL in the PIN file', {}, ['--pin-file', pinFile(Buffer.from(`${TEST_PIN}\u0000\n`))], /the PIN in the PIN file given has a control character in it/],
    ['an empty PIN file', {}, ['--pin-file', pinFile('')], /the PIN in the PIN file given is empty/],
    [
      'a PIN shorter than the token takes (SoftHSM2: 4 to 255 bytes)',
      { HSM_BENCH_PIN: '123' },
      [],
      /hsm-bench did not present the PIN to token 'pin-A' .*: the PIN given cannot be its PIN: the token takes PINs of 4 to 255 bytes/,
    ],
    ['a PIN longer than the token takes', { HSM_BENCH_PIN: '7'.repeat(256) }, [], /the token takes PINs of 4 to 255 bytes \(ulMinPinLen, ulMaxPinLen\)/],
    // Characters that no keypad types, carried along by a copy from a web page, a document or another encoding.
    ['a PIN file in Latin-1 (not UTF-8)', {}, ['--pin-file', pinFile(Buffer.from([0x32, 0x34, 0x36, 0x38, 0x31, 0xe4, 0x0a]))], /the PIN file given is not UTF-8 text/],
    ['a trailing NEL (U+0085) in the variable', { HSM_BENCH_PIN: `${TEST_PIN}\u0085` }, [], /the PIN in HSM_BENCH_PIN has spaces or a line break before or after it/],
    ['a C1 control (U+0080) in the variable', { HSM_BENCH_PIN: `${TEST_PIN}\u0080` }, [], /the PIN in HSM_BENCH_PIN has a control character in it/],
    ['a trailing zero-width space in the variable', { HSM_BENCH_PIN: `${TEST_PIN}\u200b` }, [], /the PIN in HSM_BENCH_PIN has an invisible character in it/],
    ['a soft hyphen inside the variable', { HSM_BENCH_PIN: `24\u00ad6810` }, [], /the PIN in HSM_BENCH_PIN has an invisible character in it/],
    ['a byte order mark before the PIN in the file', {}, ['--pin-file', pinFile(`\ufeff${TEST_PIN}\n`)], /the PIN in the PIN file given has an invisible character in it/],
    ['a line separator (U+2028) inside the variable', { HSM_BENCH_PIN: `246\u2028810` }, [], /the PIN in HSM_BENCH_PIN has an invisible character in it/],
    ['a no-break space after the PIN in the file', {}, ['--pin-file', pinFile(`${TEST_PIN}\u00a0\n`)], /the PIN in the PIN file given has spaces or a line break before or after it/],
    ['U+FFFD (bytes that were not UTF-8, decoded) in the variable', { HSM_BENCH_PIN: `24681\ufffd` }, [], /the PIN in HSM_BENCH_PIN is not valid UTF-8 text/],
  ];
  for (const [what, pinEnv, args, message] of cases) {
    it(`${what}: exit 3, no C_Login`, () => {
      const log = join(tempDir('pin-spy'), 'spy.log');
      const env = { ...hsm.spyEnv(log), ...pinEnv };
      const r = runCli(['scale', '--alg', 'p256', '--key-label', 'pin-key', '--token-label', 'pin-A', '--tokens', '1', '--out', tempDir('pin-out'), '--module', SPY_MODULE, ...args], env);
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(message);
      expect(loginsBySlot(log)).toEqual({});
      const pin = pinEnv.HSM_BENCH_PIN?.trim();
      if (pin) expect(r.stderr).not.toContain(pin);
      expect(r.stderr).not.toContain('24681');
    });
  }

  it('a PIN variable holding bytes that are not UTF-8 (Latin-1 ä): exit 3, no C_Login', () => {
    const log = join(tempDir('pin-spy'), 'spy.log');
    // Only a shell can put raw bytes into an environment variable; Node reads them as U+FFFD.
    const r = spawnSync(
      '/bin/bash',
      [
        '-c',
        'HSM_BENCH_PIN="$(printf \'24681\\344\')" exec "$0" "$@"',
        process.execPath,
        BIN,
        'scale',
        '--alg',
        'p256',
        '--key-label',
        'pin-key',
        '--token-label',
        'pin-A',
        '--tokens',
        '1',
        '--out',
        tempDir('pin-out'),
        '--module',
        SPY_MODULE,
      ],
      { encoding: 'utf8', env: { ...process.env, CI: 'true', ...hsm.spyEnv(log) }, timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/the PIN in HSM_BENCH_PIN is not valid UTF-8 text/);
    expect(r.stderr).not.toContain('24681');
    expect(loginsBySlot(log)).toEqual({});
  });

  it('a KEK passphrase follows the same rules, and may hold spaces inside it', () => {
    const share = () => join(tempDir('kek-rules'), 'share.json');
    for (const [passphrase, message] of [
      ['a pass\u200bphrase', /the passphrase in HSM_BENCH_KEK_PASSPHRASE has an invisible character in it/],
      ['a passphrase\u0085', /the passphrase in HSM_BENCH_KEK_PASSPHRASE has spaces or a line break before or after it/],
      ['a pass\u0080phrase', /the passphrase in HSM_BENCH_KEK_PASSPHRASE has a control character in it/],
    ] as const) {
      const file = share();
      const r = runCli(['keys', 'kek', 'create', '--file', file], { HSM_BENCH_KEK_PASSPHRASE: passphrase });
      expect(r.status, passphrase).toBe(3);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain('phrase\u0085');
      expect(existsSync(file)).toBe(false);
    }
    const latin1 = join(tempDir('kek-rules'), 'passphrase');
    writeFileSync(latin1, Buffer.from('a p\xe4ssphrase\n', 'latin1'));
    const r = runCli(['keys', 'kek', 'create', '--file', share(), '--passphrase-file', latin1], {});
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/the passphrase file given is not UTF-8 text/);
    expect(runCli(['keys', 'kek', 'create', '--file', share()], { HSM_BENCH_KEK_PASSPHRASE: 'a pass phrase with spaces' }).status).toBe(0);
  });
});

describe('Ctrl-C at the PIN prompt', () => {
  it('ends the command with exit 130 (interrupted), as Ctrl-C does elsewhere, with no C_Login: scale, and a supervised burn-in', () => {
    const { HSM_BENCH_PIN: _pin, ...withoutPin } = spied().env;
    for (const command of [
      ['scale', '--signatures-per-token', '20'],
      ['burn-in', '--signatures', '20'],
    ]) {
      const log = join(tempDir('pin-spy'), 'spy.log');
      const r = runCliOnTerminal(
        [...command, '--alg', 'p256', '--key-label', 'pin-key', '--token-label', 'pin-A', '--tokens', '1', '--out', tempDir('pin-out'), '--module', SPY_MODULE],
        { ...withoutPin, PKCS11SPY_OUTPUT: log },
        'User PIN: ',
        '\u0003',
      );
      expect(r.prompts, r.stdout).toBe(1);
      expect(r.status, r.stdout).toBe(130);
      expect(r.stdout).toMatch(/cancelled at the prompt/);
      expect(loginsBySlot(log)).toEqual({});
    }
  });
});

describe('a token whose next wrong PIN locks it (CKF_USER_PIN_FINAL_TRY)', () => {
  const faulty = buildFaultyModule();
  /** The spy in front of the fault module in front of SoftHSM2: the spy counts what hsm-bench calls. */
  const finalTry = (after: string, extra: Record<string, string> = {}) => {
    const log = join(tempDir('final-spy'), 'spy.log');
    return {
      log,
      env: { ...hsm.env, PKCS11SPY: faulty, PKCS11SPY_OUTPUT: log, FAULTY_PKCS11_MODULE: hsm.module, FAULTY_EVERY: '1000000000', FAULTY_PIN_FINAL_TRY_AFTER: after, HSM_BENCH_PIN: TEST_PIN, ...extra },
    };
  };

  it('is not presented a PIN by the main thread without --allow-final-pin-try (scale, keys create, list --keys)', () => {
    for (const args of [
      ['scale', '--alg', 'p256', '--key-label', 'pin-key', '--tokens', '1', '--signatures-per-token', '20', '--out', tempDir('final-out')],
      ['keys', 'create', '--alg', 'p256', '--label', 'final-key'],
      ['list', '--keys'],
    ]) {
      const { log, env } = finalTry('0');
      const r = runCli([...args, '--token-label', 'pin-A', '--module', SPY_MODULE], env);
      expect(r.status, args.join(' ')).toBe(3);
      expect(r.stderr).toMatch(/hsm-bench did not present the PIN to token 'pin-A' .*CKF_USER_PIN_FINAL_TRY.*--allow-final-pin-try/);
      expect(loginsBySlot(log)).toEqual({});
    }
  });

  it('is presented the PIN once with --allow-final-pin-try', () => {
    const { log, env } = finalTry('0');
    const r = runCli(
      [
        'scale',
        '--alg',
        'p256',
        '--key-label',
        'pin-key',
        '--token-label',
        'pin-A',
        '--tokens',
        '1',
        '--signatures-per-token',
        '20',
        '--allow-final-pin-try',
        '--out',
        tempDir('final-out'),
        '--module',
        SPY_MODULE,
      ],
      env,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(loginsBySlot(log)).toEqual({ [slotOf['pin-A']!]: 1 });
  });

  for (const engine of ['native', 'threads']) {
    it(`is not presented a PIN when a session reconnects mid-run (${engine} engine: ${engine === 'native' ? 'connector thread' : 'worker threads'})`, () => {
      const logins = join(tempDir('final-logins'), 'logins.log');
      // After 300 signatures the tokens act re-plugged (logged out) and their flags say the next wrong PIN locks them.
      const r = runCli(
        [
          'burn-in',
          '--module',
          faulty,
          '--alg',
          'p256',
          '--key-label',
          'pin-key',
          '--slots',
          `${slotOf['pin-A']},${slotOf['pin-B']}`,
          '--tokens',
          '2',
          '--threads-per-token',
          '2',
          '--duration',
          '20s',
          '--verify',
          'none',
          '--out',
          tempDir('final-burn'),
        ],
        {
          ...hsm.env,
          HSM_BENCH_PIN: TEST_PIN,
          FAULTY_PKCS11_MODULE: hsm.module,
          FAULTY_EVERY: '1000000000',
          FAULTY_PIN_CHANGE_AFTER: '300',
          FAULTY_PIN_FINAL_TRY_AFTER: '300',
          FAULTY_LOGIN_LOG: logins,
          ...(engine === 'threads' ? { HSM_BENCH_ENGINE: 'threads' } : {}),
        },
      );
      expect(r.status, r.stderr).toBe(4);
      // Every C_Login after the change would be logged here: none was made.
      expect(existsSync(logins) ? readFileSync(logins, 'utf8') : '').toBe('');
      const run: RunResult = JSON.parse(readFileSync(join(runDirOf(r), 'run.json'), 'utf8'));
      expect(run.harness.engine).toBe(engine);
      const issues = run.configurations[0]!.workerIssues;
      expect(issues).toHaveLength(4);
      expect(issues.every((i) => /did not present the PIN: .*CKF_USER_PIN_FINAL_TRY/.test(i.message))).toBe(true);
      // Withheld is not refused: a resume may present the PIN once the token's counter is reset.
      expect(JSON.parse(readFileSync(join(runDirOf(r), 'checkpoint.json'), 'utf8')).pinRefused).toEqual([]);
    });
  }
});

describe('a module that reports an impossible list size', () => {
  const faulty = buildFaultyModule();
  /** Under an address-space limit: a regression then crashes at once instead of taking 16 GiB of the machine. */
  const bounded = (args: string[], env: Record<string, string>) =>
    spawnSync('/bin/bash', ['-c', 'ulimit -v 6000000; exec "$0" "$@"', process.execPath, BIN, ...args, '--module', faulty], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', ...hsm.env, FAULTY_PKCS11_MODULE: hsm.module, HSM_BENCH_PIN: TEST_PIN, ...env },
      timeout: 60_000,
    });

  it('2^31 slots: refused with exit 3 naming what it said, without allocating what it said', () => {
    for (const args of [['list'], ['scale', '--alg', 'p256', '--tokens', '1', '--out', tempDir('slots-out')]]) {
      const r = bounded(args, { FAULTY_SLOT_COUNT: '2147483648' });
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/PKCS#11 module .*faulty-pkcs11\.so says it has 2147483648 slots \(C_GetSlotList\); hsm-bench lists at most 4096/);
    }
  });

  it('2^31 mechanisms: the same', () => {
    for (const args of [
      ['list', '--mechanisms'],
      ['scale', '--alg', 'p256', '--key-label', 'pin-key', '--token-label', 'pin-A', '--tokens', '1', '--out', tempDir('mech-out')],
    ]) {
      const r = bounded(args, { FAULTY_MECHANISM_COUNT: '2147483648' });
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/says it has 2147483648 mechanisms \(C_GetMechanismList\); hsm-bench lists at most 8192/);
    }
  });
});
