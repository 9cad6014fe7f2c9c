import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { addSecret, commandLine, isSecret, quote, shown } from '../src/core/quote.js';
import type { Listing } from '../src/cli/list.js';
import { parsePkcs11Uri } from '../src/model/token-uri.js';
import { uriCarriesPin, withoutPinAttributes } from '../src/core/uri-pin.js';
import { recordableArgs } from '../src/secrets/command-line.js';
import { BIN, runCli, runDirOf, tempDir } from './helpers/cli.js';
import { ExternalSoftHsm, TEST_PIN } from './helpers/softhsm-module.js';

// Secrets never enter a message or a recorded command line: by structure (one quoting function that compares
// whole values, known secret-bearing flags and URI attributes), never by masking substrings of finished text.

describe('quoting a value the user gave', () => {
  it('never shows a value that is a known secret, and shows other text whole, even when a secret is inside it', () => {
    addSecret('000000');
    expect(quote('000000')).not.toContain('000000');
    expect(shown(' 000000\n')).not.toContain('000000');
    expect(isSecret('--000000')).toBe(true);
    // A public serial that contains the PIN is no secret: it is shown as it is.
    expect(shown('0000000000001234')).toBe('0000000000001234');
    expect(quote('a label with 000000 inside')).toBe("'a label with 000000 inside'");
    expect(quote('\u001b[31mred')).toBe("'?[31mred'");
  });
  it('a path made from a secret (joined, or resolved against the working folder) is not shown; its names are compared whole', () => {
    addSecret('97531');
    expect(shown('97531/run.json')).not.toContain('97531');
    expect(shown('/home/me/97531')).not.toContain('97531');
    expect(shown('/home/me/97531-runs/run.json')).toBe('/home/me/97531-runs/run.json');
    expect(isSecret('--key-label=97531')).toBe(true);
  });
  it('a suggested command line quotes each word for the shell and shows a secret word as not shown', () => {
    addSecret('86420');
    expect(commandLine('hsm-bench', 'keys', 'delete', '--label', "my key's", '--slots', '3')).toBe(`hsm-bench keys delete --label 'my key'\\''s' --slots 3`);
    expect(commandLine('hsm-bench', 'keys', 'delete', '--label', '86420')).toBe('hsm-bench keys delete --label (a secret: not shown)');
    expect(commandLine('hsm-bench', 'keys', 'delete', '--label', 'a\u001b[2Jb')).toBe("hsm-bench keys delete --label 'a?[2Jb'");
  });
});

describe('token URIs (RFC 7512)', () => {
  const pinUris = [
    'pkcs11:token=a?pin-value=4711x',
    'pkcs11:token=a?Pin-Value=4711x',
    'pkcs11:token=a?PIN-VALUE=4711x',
    'pkcs11:token=a?module-name=p11-kit&p%69n-value=4711x',
    'pkcs11:token=a;pin-value=4711x',
    'PKCS11:token=a?pin-source=file:/tmp/4711x',
  ];
  it('refuses a PIN attribute in any case or encoding, in the path or the query, without quoting it', () => {
    for (const uri of pinUris) {
      expect(uriCarriesPin(uri), uri).toBe(true);
      expect(() => parsePkcs11Uri(uri)).toThrow(/--token-uri must not carry a PIN/);
      try {
        parsePkcs11Uri(uri);
      } catch (error) {
        expect((error as Error).message + (error as { hint?: string }).hint).not.toContain('4711x');
      }
      expect(withoutPinAttributes(uri)).not.toContain('4711x');
    }
  });
  it('matches attribute names case-insensitively', () => {
    expect(parsePkcs11Uri('pkcs11:Token=lab-A;SERIAL=00ff')).toEqual({ token: 'lab-A', serial: '00ff' });
  });
  it('a recorded command line drops secret flags and PIN attributes by structure, and arguments that are secrets whole', () => {
    addSecret('8642097');
    const recorded = recordableArgs([
      'scale',
      '--token-uri',
      'pkcs11:token=a?Pin-Value=4711x&module-name=m',
      '--token-uri=pkcs11:token=b?pin-source=file:/4711x',
      '--pin=4711x',
      '--so-pin',
      '4711x',
      '--token-label',
      '8642097',
      '--tokens',
      '1',
    ]).join(' ');
    expect(recorded).not.toContain('4711x');
    expect(recorded).not.toContain('8642097');
    expect(recorded).toBe('scale --token-uri pkcs11:token=a?module-name=m --token-uri=pkcs11:token=b --token-label (secret removed) --tokens 1');
  });
});

describe('on the command line', () => {
  const hsm = new ExternalSoftHsm();

  it('a PIN inside a public serial does not change the serial in a message', () => {
    hsm.initToken('serial-shown');
    const listing: Listing = JSON.parse(runCli(['list', '--json', '--module', hsm.module], hsm.env).stdout);
    const serial = listing.slots.find((s) => s.token?.label === 'serial-shown')!.token!.serial;
    const r = runCli(['list', '--serials', 'no-such-serial', '--module', hsm.module], { ...hsm.env, HSM_BENCH_PIN: serial.slice(0, 6) });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(`serials found: ${serial}`);
    expect(r.stderr).not.toMatch(/hidden/);
  });

  it('a ?Pin-Value= URI is refused before anything runs, and the PIN is nowhere', () => {
    const out = tempDir('uri-out');
    const r = runCli(['scale', '--alg', 'p256', '--tokens', '1', '--module', hsm.module, '--token-uri', 'pkcs11:token=x?Pin-Value=4711x', '--out', out], hsm.env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--token-uri must not carry a PIN/);
    expect(r.stderr + r.stdout).not.toContain('4711x');
    expect(readdirSync(out)).toEqual([]);
  });

  it("commander's own messages never quote a secret: an unknown option's value, an unknown command, an invalid choice", () => {
    const env = { HSM_BENCH_PIN: '5318008', HSM_BENCH_WORKSPACE: tempDir('ws') };
    for (const args of [['scale', '--pin=5318008'], ['5318008'], ['scale', '--alg', 'p256', '--baseline-missing', '5318008'], ['scale', '--alg', 'p256', '--tokens', '5318008']]) {
      const r = runCli(args, env);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).not.toContain('5318008');
    }
  });

  it('the recorded command line (run.json, checkpoint.json, report.md, report.html) has no secret: a PIN typed as --token-label is refused before any run directory is made', () => {
    // A token whose label starts with the PIN: the mistaken selection would select it, and the run keep its plan.
    hsm.initToken(`${TEST_PIN}-lab`);
    hsm.generateKey(`${TEST_PIN}-lab`, 'EC:prime256v1', 'rec-key');
    const out = tempDir('recorded');
    const r = runCli(['burn-in', '--module', hsm.module, '--alg', 'p256', '--key-label', 'rec-key', '--token-label', TEST_PIN, '--tokens', '1', '--signatures', '50', '--out', out], {
      ...hsm.env,
      HSM_BENCH_PIN: TEST_PIN,
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--token-label holds a PIN or passphrase of this run/);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    // What a run records of its command line drops a secret wherever it stands (a path to a JUnit file named so).
    addSecret(TEST_PIN);
    expect(recordableArgs(['burn-in', '--junit', `reports/${TEST_PIN}`, '--token-label', 'tok']).join(' ')).not.toContain(TEST_PIN);
  });
});

describe('a PIN file given by mistake where a JSON file belongs', () => {
  const secret = 'x7Q2p9Lm';
  const pinFile = join(tempDir('pin-as-json'), 'pin');
  writeFileSync(pinFile, `${secret}\n`);
  const runDir = tempDir('pin-as-run');
  writeFileSync(join(runDir, 'run.json'), `${secret}\n`);
  const resumeDir = tempDir('pin-as-checkpoint');
  writeFileSync(join(resumeDir, 'checkpoint.json'), `${secret}\n`);
  mkdirSync(join(resumeDir, 'records'));
  const cases: [string, string[], RegExp][] = [
    ['run --config', ['run', '--config', pinFile], /the lab file .* is not valid JSON at line 1, column 1/],
    ['scale --reference', ['scale', '--alg', 'p256', '--tokens', '1', '--reference', pinFile], /the reference file .* is not valid JSON at line 1, column 1/],
    ['scale --baseline', ['scale', '--alg', 'p256', '--tokens', '1', '--baseline', runDir], /the run.json .* is not valid JSON at line 1, column 1/],
    ['report', ['report', runDir], /the run.json .* is not valid JSON/],
    ['compare', ['compare', runDir, runDir], /the run.json .* is not valid JSON/],
    ['trend', ['trend', runDir, runDir], /the run.json .* is not valid JSON/],
    ['burn-in --resume', ['burn-in', '--resume', resumeDir], /the checkpoint .* is not valid JSON at line 1, column 1/],
    ['keys kek import --file', ['keys', 'kek', 'import', '--file', pinFile], /the KEK share file .* is not valid JSON at line 1, column 1/],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: exit 2, says where the JSON broke, quotes none of the file on stderr or in JUnit`, () => {
      const junit = join(tempDir('pin-junit'), 'junit.xml');
      const withJunit = ['run', 'scale'].includes(args[0]!) ? [...args, '--junit', junit] : args;
      const r = runCli(withJunit, { HSM_BENCH_WORKSPACE: tempDir('ws'), HSM_BENCH_KEK_PASSPHRASE: 'a passphrase' });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr + r.stdout).not.toContain(secret);
      if (withJunit !== args) expect(readFileSync(junit, 'utf8')).not.toContain(secret);
    });
  }
});

describe('every value the user gives, set to the PIN (a PIN pasted into the wrong flag)', () => {
  // tokA, tokB and tokD take the PIN, tokC has another; a key 'hk' on tokA and tokB. tokA and tokB also hold a key pair
  // labelled with the PIN, and tokB a KEK labelled with it, so that the hints that suggest deleting them are reached.
  const P = TEST_PIN;
  const hsm = new ExternalSoftHsm();
  const env = { ...hsm.env, HSM_BENCH_PIN: P, HSM_BENCH_KEK_PASSPHRASE: 'a kek passphrase' };
  let SA = '';
  let SB = '';
  let SD = '';
  const shares = tempDir('sweep-shares');

  /** Runs the CLI in `cwd` without blocking, so that several run at once. */
  const runIn = (cwd: string, args: string[]) =>
    new Promise<{ status: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: 'true', ...env } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (status) => resolve({ status, out }));
    });

  beforeAll(() => {
    for (const [label, pin] of [
      ['tokA', P],
      ['tokB', P],
      ['tokC', '999999'],
      ['tokD', P],
    ]) {
      hsm.initToken(label!, pin);
      if (pin === P && label !== 'tokD') hsm.generateKey(label!, 'EC:prime256v1', 'hk');
    }
    hsm.generateKey('tokA', 'EC:prime256v1', P);
    hsm.generateKey('tokB', 'EC:prime256v1', P);
    const listing: Listing = JSON.parse(runCli(['list', '--json', '--module', hsm.module], hsm.env).stdout);
    const slotOf = (label: string) => listing.slots.find((s) => s.token?.label === label)!.slotId;
    [SA, SB, SD] = [slotOf('tokA'), slotOf('tokB'), slotOf('tokD')];
    for (const share of ['one.json', 'two.json']) expect(runCli(['keys', 'kek', 'create', '--file', join(shares, share)], env).status).toBe(0);
    expect(runCli(['keys', 'kek', 'import', '--file', join(shares, 'one.json'), '--kek-label', P, '--module', hsm.module, '--slots', SB], env).status).toBe(0);
  });

  it('is never shown on stdout, stderr or in JUnit, whatever the flag; a suggested command line shows it as not shown', async () => {
    const sh = hsm.module;
    const scale = (...more: string[]) => ['scale', '--module', sh, '--slots', SA, '--alg', 'p256', '--tokens', '1', '--key-label', 'hk', '--signatures-per-token', '10', ...more];
    const burnIn = (...more: string[]) => ['burn-in', '--module', sh, '--slots', SA, '--alg', 'p256', '--tokens', '1', '--key-label', 'hk', '--signatures', '10', ...more];
    // tokD has no key: the hint says how to make one, labelled with the PIN.
    const noKey = ['scale', '--module', sh, '--slots', SD, '--alg', 'p256', '--tokens', '1', '--key-label', P, '--signatures-per-token', '10'];
    const lab = join(tempDir('sweep-lab'), 'lab.json');
    writeFileSync(lab, JSON.stringify({ runs: [{ name: 'r1', module: sh, slots: [SA], alg: 'p256', keyLabel: P, tokens: [1], signaturesPerToken: 10 }] }));
    // Flags of the scale and burn-in commands (and list) whose value is text; a number that is valid for its flag is
    // the plan itself (run.json, tables), not a message.
    const commands: string[][] = [
      ...[
        ['--key-label', P],
        ['--out', P],
        ['--reference', P],
        ['--baseline', P],
        ['--save-baseline', P],
        ['--junit', P],
        ['--pin-env', P],
        ['--pin-file', P],
      ].map((f) => scale(...f)),
      ...[
        ['--alg', P],
        ['--op', P],
        ['--mix', P],
        ['--mix', `sign/p256,${P}`],
        ['--mechanism', P],
        ['--format', P],
        ['--format', `md,${P}`],
        ['--verify', P],
      ].map((f) => scale(...f)),
      ...[
        ['--call-timeout', P],
        ['--tokens', P],
        ['--threads-per-token', P],
        ['--duration', P],
        ['--min-throughput', `${P}:5`],
        ['--baseline-missing', P],
      ].map((f) => scale(...f)),
      noKey,
      scale('--mix', 'sign/p256,derive/p256', '--alg', P),
      scale('--op', 'derive', '--key-label', P),
      ...[
        ['--slots', P],
        ['--serials', P],
        ['--token-label', P],
        ['--token-uri', `pkcs11:token=${P}`],
        ['--token-uri', P],
        ['--module', P],
        ['--module', `./${P}`],
      ].map((f) => [...scale().filter((_, i) => i < 1 || i > 4), '--module', sh, ...f]),
      ['scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '5', '--workspace', P, '--out', 'out'],
      burnIn('--key-label', P),
      burnIn('--out', P),
      burnIn('--give-up-after', P),
      burnIn('--max-restarts', P),
      ['burn-in', '--resume', P],
      ['run', '--config', P],
      ['run', '--config', lab],
      ['run', '--config', lab, '--only', P],
      ['report', P],
      ['compare', P, P],
      ['trend', P, P],
      ['list', '--module', P],
      ['list', '--module', sh, '--slots', P, '--keys'],
      ['list', '--module', sh, '--serials', P],
      ['keys', 'create', '--module', sh, '--slots', SA, '--alg', 'p256', '--label', P],
      ['keys', 'create', '--module', sh, '--slots', SA, '--alg', 'p256', '--label', P, '--usage', 'derive'],
      ['keys', 'create', '--module', sh, '--slots', SA, '--alg', 'p256', '--usage', P],
      ['keys', 'delete', '--module', sh, '--slots', SD, '--label', P, '--yes'],
      ['keys', 'clone', '--module', sh, '--label', P, '--from', SA, '--to', SB],
      ['keys', 'clone', '--module', sh, '--label', 'hk', '--from', P, '--to', SB],
      ['keys', 'clone', '--module', sh, '--label', 'hk', '--from', SA, '--to', P],
      ['keys', 'kek', 'create', '--file', P],
      ['keys', 'kek', 'create', '--file', `${P}/share.json`],
      ['keys', 'kek', 'create', '--file', 'share.json', '--passphrase-env', P],
      ['keys', 'kek', 'import', '--module', sh, '--slots', SB, '--file', join(shares, 'two.json'), '--kek-label', P],
      ['keys', 'kek', 'import', '--module', sh, '--slots', SB, '--file', P],
    ];
    const junitOf = new Map<number, string>();
    const results: { args: string[]; status: number | null; out: string; junit: string }[] = [];
    const queue = commands.map((args, i) => ({ args, i }));
    const worker = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const cwd = tempDir('sweep');
        // A folder named like the PIN where a path is read: the messages about it quote paths made from it.
        mkdirSync(join(cwd, P));
        const junit = join(tempDir('sweep-junit'), 'junit.xml');
        const withJunit = ['scale', 'burn-in', 'run', 'compare'].includes(next.args[0]!) && !next.args.includes('--junit') && !next.args.includes('--resume');
        junitOf.set(next.i, junit);
        const r = await runIn(cwd, withJunit ? [...next.args, '--junit', junit] : next.args);
        results.push({ args: next.args, ...r, junit: existsSync(junit) ? readFileSync(junit, 'utf8') : '' });
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    expect(results).toHaveLength(commands.length);
    const leaks = results.filter((r) => r.out.includes(P) || r.junit.includes(P) || /internal error/.test(r.out)).map((r) => `${r.args.join(' ')}\n${r.out}`);
    expect(leaks).toEqual([]);
    const said = (args: string[]) => results.find((r) => r.args === args)!.out;
    // The hints still say what to run, with the secret not shown.
    // A key label that is the PIN is refused before any token is asked for the key: the plan is kept in run.json.
    expect(said(noKey)).toMatch(/--key-label holds a PIN or passphrase of this run/);
    // The source's key is checked first, before the target is logged in to: it cannot be wrapped.
    expect(results.find((r) => r.args.includes('clone') && r.args.includes(SA) && r.args.includes(SB))!.out).toMatch(/key \(a secret: not shown\) on token 'tokA' .* was created non-extractable/);
    expect(results.find((r) => r.args.includes(join(shares, 'two.json')))!.out).toMatch(
      /already has another KEK labelled \(a secret: not shown\)[\s\S]*hsm-bench keys delete (--module \S+ )?--slots \d+ --label \(a secret: not shown\)/,
    );
  }, 600_000);
});

describe('a plan value that is the PIN', () => {
  const hsm = new ExternalSoftHsm();
  beforeAll(() => {
    hsm.initToken('tokP', TEST_PIN);
    hsm.generateKey('tokP', 'EC:prime256v1', 'hk');
  });

  it('is refused (exit 2) before anything runs, and no run directory keeps it: a key label, a CKA_ID, a mechanism parameter file that holds it', () => {
    const pinFile = join(tempDir('pin-params'), 'pin');
    writeFileSync(pinFile, `${TEST_PIN}\n`);
    const env = { ...hsm.env, HSM_BENCH_PIN: TEST_PIN };
    const base = ['scale', '--module', hsm.module, '--token-label', 'tokP', '--tokens', '1', '--signatures-per-token', '5'];
    const cases = [
      ['--alg', 'p256', '--key-label', TEST_PIN],
      ['--mechanism', 'CKM_ECDSA', '--key-id', TEST_PIN],
      ['--mechanism', 'CKM_ECDSA', '--key-label', 'hk', '--mechanism-params', pinFile],
    ];
    for (const extra of cases) {
      const out = tempDir('pin-plan-out');
      const r = runCli([...base, ...extra, '--out', out], env);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/holds a PIN or passphrase of this run/);
      expect(r.stderr + r.stdout).not.toContain(TEST_PIN);
      expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    }
  });
});
