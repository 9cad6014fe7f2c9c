import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { clientEnv, p11kit, pico, picoReplug, suiteTitle } from './helpers/emu.js';

// Smoke tests of the emulated stacks themselves (test/emu/with-stacks.sh), through OpenSC's pkcs11-tool:
// when these fail, the hsm-bench tests on the stacks cannot pass either, and this says why.

/** pkcs11-tool's output; PINs on its command line are fine for these throwaway tokens. */
const tool = (argv: string[], env: Record<string, string> = {}) =>
  execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });

/** `pkcs11-tool -L` as [slot line, token label or undefined] per slot. */
function slots(listing: string): [string, string | undefined][] {
  return listing
    .split(/^(?=Slot \d+ )/m)
    .filter((s) => s.startsWith('Slot '))
    .map((s) => [s.split('\n')[0]!, /^\s+token label\s+:\s+(.*?)\s*$/m.exec(s)?.[1]]);
}
const labels = (listing: string) => slots(listing).flatMap(([, label]) => (label ? [label] : []));

describe.skipIf(!pico)(suiteTitle('pico-hsm stack (opensc-pkcs11.so, private pcscd)', 'pico'), () => {
  const list = () => tool(['pkcs11-tool', '--module', pico!.module, '-L']);

  it('shows every emulated token as its own slot, all with the same label', () => {
    const s = slots(list());
    expect(s.map(([, label]) => label)).toEqual(Array(pico!.tokens).fill(pico!.tokenLabel));
    expect(s.map(([line]) => line)).toEqual(Array.from({ length: pico!.tokens }, (_, i) => `Slot ${i} (0x${(4 * i).toString(16)}): Virtual PCD ${i >> 1} 00 0${i % 2}`));
  });

  it('logs in with the PIN and finds both keys on every token', () => {
    for (let i = 0; i < pico!.tokens; i++) {
      const objects = tool(['pkcs11-tool', '--module', pico!.module, '--slot-index', String(i), '--login', '--pin', pico!.pin, '--list-objects', '--type', 'privkey']);
      expect(objects).toMatch(/label:\s+rsa2048\n\s+ID:\s+01\n/);
      expect(objects).toMatch(/label:\s+bp256\n\s+ID:\s+02\n/);
    }
  });

  it('unplugs a token (empty slot) and plugs it back in (picoReplug)', async () => {
    const last = pico!.tokens - 1;
    await picoReplug(last, 'off').done;
    expect(slots(list())[last]![1]).toBeUndefined();
    await picoReplug(last, 'on').done;
    // The token is back ~0.5 s after the emulator restarts; allow a loaded machine much longer.
    const deadline = Date.now() + 20_000;
    while (labels(list()).length < pico!.tokens && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(labels(list())).toHaveLength(pico!.tokens);
  });
});

describe.skipIf(!p11kit)(suiteTitle('p11-kit stack (SoftHSM2 tokens over p11-kit RPC)', 'p11kit'), () => {
  it('p11-kit-client.so shows host A tokens through the server', () => {
    const listing = tool(['pkcs11-tool', '--module', p11kit!.clientModule, '-L'], clientEnv());
    expect(labels(listing).sort()).toEqual([...p11kit!.hostA].sort());
  });

  it('p11-kit-proxy.so, inside the proxy-run wrapper, shows the tokens of both hosts', () => {
    const listing = tool([p11kit!.proxyRun, 'pkcs11-tool', '--module', p11kit!.proxyModule, '-L'], { EMU: p11kit!.emu });
    expect(labels(listing).sort()).toEqual([...p11kit!.hostA, ...p11kit!.hostB].sort());
  });

  it('logs in to host B through the proxy and finds both keys', () => {
    const token = p11kit!.hostB[0]!;
    const objects = tool([p11kit!.proxyRun, 'pkcs11-tool', '--module', p11kit!.proxyModule, '--token-label', token, '--login', '--pin', p11kit!.pin, '--list-objects', '--type', 'privkey'], { EMU: p11kit!.emu });
    expect(objects).toMatch(/label:\s+rsa2048\n\s+ID:\s+01\n/);
    expect(objects).toMatch(/label:\s+bp256\n\s+ID:\s+02\n/);
  });
});
