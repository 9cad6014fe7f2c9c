import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addSecret, isSecret, quote, shown } from '../src/core/quote.js';
import type { Listing } from '../src/cli/list.js';
import { parsePkcs11Uri } from '../src/model/token-uri.js';
import { uriCarriesPin, withoutPinAttributes } from '../src/core/uri-pin.js';
import { recordableArgs } from '../src/secrets/command-line.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';
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

  it('the recorded command line (run.json, checkpoint.json, report.md, report.html) has no secret: a PIN typed as --token-label', () => {
    // A token whose label starts with the PIN, so that the mistaken selection still selects it and the run goes on.
    hsm.initToken(`${TEST_PIN}-lab`);
    hsm.generateKey(`${TEST_PIN}-lab`, 'EC:prime256v1', 'rec-key');
    const out = tempDir('recorded');
    const r = runCli(['burn-in', '--module', hsm.module, '--alg', 'p256', '--key-label', 'rec-key', '--token-label', TEST_PIN, '--tokens', '1', '--signatures', '50', '--out', out], {
      ...hsm.env,
      HSM_BENCH_PIN: TEST_PIN,
    });
    expect(r.status, r.stderr).toBe(0);
    const dir = runDirOf(r);
    const asArgument = new RegExp(`--token-label '?${TEST_PIN}'?(\\s|$|<|\`)`, 'm');
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).commandLine).toMatch(/--token-label '\(secret removed\)'/);
    for (const file of ['run.json', 'checkpoint.json', 'report.md', 'report.html']) expect(readFileSync(join(dir, file), 'utf8'), file).not.toMatch(asArgument);
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
