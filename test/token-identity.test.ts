import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tokenIdentity } from '../src/run/run-result-builder.js';
import { sameTokens } from '../src/run/token-setup.js';
import { selectTokens, type TokenRef } from '../src/pkcs11/discovery.js';
import type { ModuleInfo } from '../src/model/run-result.js';
import { PinGuard } from '../src/pkcs11/pin-guard.js';
import { parsePkcs11Uri } from '../src/model/token-uri.js';
import { replayRecords } from '../src/result/replay.js';
import { ConfigurationStats } from '../src/stats/configuration-stats.js';
import { sharesTokens } from '../src/verdict/compare.js';
import { tempDir } from './helpers/cli.js';
import type { RunResult } from '../src/model/run-result.js';

const module: ModuleInfo = { path: '/m.so', manufacturer: 'OpenSC Project', libraryDescription: 'OpenSC smartcard framework', libraryVersion: '0.23', cryptokiVersion: '2.20', instances: 'shared' };

/** Two SmartCard-HSMs initialised alike (same label and serial, as the emulation's), and one other token. */
function token(slotId: number, label: string, serial: string, slotDescription = `Virtual PCD 0 00 0${slotId / 4}`): TokenRef {
  return {
    slot: Buffer.alloc(8),
    slotId: String(slotId),
    slotDescription,
    slotManufacturer: 'Virtual Smart Card Architecture',
    label,
    manufacturer: 'Pol Henarejos',
    model: 'PKCS#15 emulated',
    serial,
    firmwareVersion: '6.6',
    loginRequired: true,
    initialized: true,
    userPinCountLow: false,
    userPinFinalTry: false,
    userPinLocked: false,
  };
}
const twins = [token(0, 'Pico-HSM (UserPIN)', 'ESPICOHSMTR'), token(4, 'Pico-HSM (UserPIN)', 'ESPICOHSMTR'), token(8, 'other', '12')];

describe('token selection', () => {
  it('keeps --slots order and tells identical tokens apart by slot', () => {
    expect(selectTokens(twins, { slotIds: ['4', '0'], order: 'slot', named: true }, 2, module).map((t) => t.slotId)).toEqual(['4', '0']);
  });
  it('matches serials exactly, and refuses a serial that several tokens carry', () => {
    const more = [...twins, token(12, 'other', '123')];
    expect(selectTokens(more, { serials: ['123'], order: 'slot', named: true }, 1, module).map((t) => t.slotId)).toEqual(['12']);
    expect(() => selectTokens(more, { serials: ['1'], order: 'slot', named: true }, 1, module)).toThrow(/no initialized token has serial 1/);
    expect(() => selectTokens(more, { serials: ['ESPICOHSMTR'], order: 'slot', named: true }, 1, module)).toThrow(/2 tokens carry serial ESPICOHSMTR \(slots 0, 4\)/);
  });
  it('applies every attribute of a pkcs11: URI, including the library', () => {
    const uri = parsePkcs11Uri('pkcs11:token=Pico-HSM%20(UserPIN);slot-description=Virtual%20PCD%200%2000%2001;library-manufacturer=OpenSC%20Project');
    expect(selectTokens(twins, { uri, order: 'slot', named: true }, 1, module).map((t) => t.slotId)).toEqual(['4']);
    expect(() => selectTokens(twins, { uri: parsePkcs11Uri('pkcs11:library-version=9.9'), order: 'slot', named: true }, 1, module)).toThrow(/0 were found with the attributes of --token-uri/);
  });
  it("with no token named, takes a module's tokens only when there is no choice to make", () => {
    expect(selectTokens(twins, { order: 'slot', named: false }, 3, module)).toHaveLength(3);
    expect(() => selectTokens(twins, { order: 'slot', named: false }, 2, module)).toThrow(/the module shows 3 initialized tokens and none was named/);
    expect(() => selectTokens(twins, { order: 'slot', named: false }, 1, module)).toThrow(expect.objectContaining({ hint: expect.stringMatching(/a module with one token needs no name/) }));
    expect(selectTokens([twins[2]!], { order: 'slot', named: false }, 1, module)).toHaveLength(1);
  });
  it('orders embedded tokens by label', () => {
    const shuffled = [token(9, 'hsm-bench-02', 'b'), token(3, 'hsm-bench-10', 'c'), token(5, 'hsm-bench-01', 'a')];
    expect(selectTokens(shuffled, { order: 'label', named: true }, 3, module).map((t) => t.label)).toEqual(['hsm-bench-01', 'hsm-bench-02', 'hsm-bench-10']);
  });
});

describe('pkcs11: URIs', () => {
  it('refuses a PIN without echoing it, key attributes, unknown attributes and bad encodings', () => {
    expect(() => parsePkcs11Uri('pkcs11:token=a?pin-value=123456')).toThrow(/must not carry a PIN/);
    try {
      parsePkcs11Uri('pkcs11:token=a?pin-value=123456');
    } catch (error) {
      expect(String(error)).not.toContain('123456');
    }
    expect(() => parsePkcs11Uri('pkcs11:object=key1')).toThrow(/'object' names a key/);
    expect(() => parsePkcs11Uri('pkcs11:colour=red')).toThrow(/unknown attribute 'colour'/);
    expect(() => parsePkcs11Uri('pkcs11:token=%zz')).toThrow(/percent-encoding/);
    expect(() => parsePkcs11Uri('token=a')).toThrow(/must start with 'pkcs11:'/);
    expect(() => parsePkcs11Uri('pkcs11:token=a;token=b')).toThrow(/twice/);
  });
});

describe('resume finds the same tokens', () => {
  it('finds a unique token wherever it is now, and identical tokens only in their own slots', () => {
    const saved = [tokenIdentity(twins[1]!), tokenIdentity(twins[0]!), tokenIdentity(twins[2]!)];
    const moved = [twins[0]!, twins[1]!, { ...twins[2]!, slotId: '20', slotDescription: 'elsewhere' }];
    expect(sameTokens(moved, saved).map((t) => t.slotId)).toEqual(['4', '0', '20']);
  });
  it('refuses when an identical token is missing from its slot, or cannot be told apart', () => {
    const saved = [tokenIdentity(twins[0]!), tokenIdentity(twins[1]!)];
    expect(() => sameTokens([twins[0]!, { ...twins[1]!, slotId: '16', slotDescription: 'Virtual PCD 2 00 00' }], saved)).toThrow(/is not in its slot/);
    expect(() => sameTokens([twins[0]!], [tokenIdentity(twins[2]!)])).toThrow(/is not present/);
    expect(() => sameTokens([twins[0]!, { ...twins[0]! }], [tokenIdentity(twins[0]!)])).toThrow(/cannot tell which/);
  });
});

describe('PIN guard', () => {
  it('presents a PIN until it is refused once, then never again on that token; other tokens are not affected', () => {
    const guard = new PinGuard(2);
    let presented = 0;
    const refuse = () => (presented++, 'refused' as const);
    expect(guard.present(0, refuse)).toBe('refused');
    expect(guard.present(0, refuse)).toBe('refused');
    expect(presented).toBe(1);
    expect(guard.refused(0)).toBe(true);
    expect(guard.present(1, () => 'accepted')).toBe('accepted');
    expect(guard.refusedTokens()).toEqual([0]);
  });
  it('a PIN withheld (the token said one more wrong PIN locks it) changes nothing: not refused, not accepted', () => {
    const guard = new PinGuard(1);
    expect(guard.allowFinalPinTry).toBe(false);
    expect(guard.present(0, () => 'withheld')).toBe('withheld');
    expect(guard.refused(0)).toBe(false);
    expect(guard.refusedTokens()).toEqual([]);
    // The policy travels in the shared buffer: a worker's guard built from it applies the same one.
    expect(new PinGuard(new PinGuard(3, { allowFinalPinTry: true }).buffer).allowFinalPinTry).toBe(true);
  });
  it('is shared across threads: 8 workers racing to log in with a wrong PIN present it once', async () => {
    const { Worker } = await import('node:worker_threads');
    const guard = new PinGuard(1);
    const presented = new Int32Array(new SharedArrayBuffer(4));
    const worker = new URL('./helpers/pin-guard-worker.mjs', import.meta.url);
    await Promise.all(
      Array.from(
        { length: 8 },
        () => new Promise((resolve, reject) => new Worker(worker, { workerData: { guard: guard.buffer, presented: presented.buffer } }).on('exit', resolve).on('error', reject)),
      ),
    );
    expect(presented[0]).toBe(1);
    expect(guard.refused(0)).toBe(true);
  });
});

describe('runs on the same tokens', () => {
  it('are compared token by token, never as joined text: serials 12 and 123 differ', () => {
    const run = (...serials: string[]) => ({ tokens: serials.map((serial, i) => tokenIdentity(token(4 * i, 'card', serial))) }) as unknown as RunResult;
    expect(sharesTokens(run('12'), run('123'))).toBe(false);
    expect(sharesTokens(run('1', '23'), run('12', '3'))).toBe(false);
    expect(sharesTokens(run('a', 'b'), run('a', 'b', 'c', 'd'))).toBe(true);
  });
});

describe('records of a resumed run', () => {
  it('that name a token or thread the run does not have are refused as bad input (exit 2), not a crash', async () => {
    const path = join(tempDir('replay'), 'burn-in.rec');
    writeFileSync(path, 'configuration,token,thread,sequence,startOffsetUs,latencyUs,status,verified\n1,0,0,0,10,100,CKR_OK,\n1,7,0,0,20,100,CKR_OK,\n');
    await expect(replayRecords(path, { configuration: '1', tokenCount: 2, threadsPerToken: 1, maxStartOffsetUs: 1e9 }, new ConfigurationStats(2))).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/record of token 7, thread 0; the run has 2 tokens × 1 threads/),
    });
  });
});
