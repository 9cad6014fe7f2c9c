import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';

const env = { HSM_BENCH_WORKSPACE: tempDir('ws-errors') };

describe('bad input gets a clear message and a documented exit code', () => {
  const usage: [string, string[], RegExp][] = [
    ['unknown algorithm', ['scale', '--alg', 'rsa1024'], /unknown algorithm 'rsa1024'[\s\S]*hint: use one of: rsa2048, rsa3072, rsa4096, p256, p384, bp256, bp384/],
    ['mechanism of another family', ['scale', '--alg', 'bp256', '--mechanism', 'pss'], /mechanism 'pss' does not apply to ECDSA brainpoolP256r1[\s\S]*use one of: ecdsa/],
    ['bad token counts', ['scale', '--alg', 'rsa2048', '--tokens', '1,two'], /--tokens must be a whole number, not 'two'/],
    ['repeated token count', ['scale', '--alg', 'rsa2048', '--tokens', '2,2'], /--tokens lists a count twice/],
    ['bad duration', ['scale', '--alg', 'rsa2048', '--duration', '10 minutes'], /--duration must be a number with a unit/],
    ['two stop rules', ['scale', '--alg', 'rsa2048', '--duration', '5s', '--signatures-per-token', '10'], /two stop rules; give one/],
    ['bad verify rate', ['scale', '--alg', 'rsa2048', '--verify', 'some'], /--verify must be all, none or a rate/],
    ['missing --alg', ['scale'], /--alg is needed to sign: which key algorithm\?/],
    ['unknown command', ['scael'], /unknown command 'scael'/],
    // Each command, nested ones too, says where its own flags are listed.
    ['unknown flag of a command', ['run', '--config', 'lab.json', '--out', 'x'], /unknown option '--out'\n\(run 'hsm-bench run --help' for its options\)/],
    ['unknown flag of a nested command', ['keys', 'create', '--alg', 'p256', '--bogus'], /unknown option '--bogus'\n\(run 'hsm-bench keys create --help' for its options\)/],
  ];
  for (const [what, args, message] of usage) {
    it(`${what}: exit 2`, () => {
      const r = runCli(args, env);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    });
  }

  it('a PIN given as a flag is refused with the way to give it', () => {
    const r = runCli(['scale', '--alg', 'rsa2048', '--pin', '123456'], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('a PIN is never a command-line argument');
  });

  it('a module that does not exist is a set-up error naming the path: exit 3', () => {
    const r = runCli(['scale', '--alg', 'rsa2048', '--tokens', '1', '--module', '/nonexistent/libpkcs11.so'], env);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/PKCS#11 module \/nonexistent\/libpkcs11.so does not exist/);
  });

  it('a library that is not a PKCS#11 module is a set-up error: exit 3', () => {
    const r = runCli(['scale', '--alg', 'rsa2048', '--tokens', '1', '--module', '/usr/lib/x86_64-linux-gnu/libz.so.1'], env);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/cannot load PKCS#11 module \/usr\/lib\/x86_64-linux-gnu\/libz.so.1/);
  });
});
