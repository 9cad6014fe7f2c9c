import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATIVE } from '../src/core/native-abi.js';
import { loadAddon, nativeProgram, nativeSourceDigest } from '../src/core/native-addon.js';
import { newBatch } from '../src/model/call-batch.js';
import { nativeLoop, type NativeLoop, type NativeLoopSpec } from '../src/measure/native-engine.js';
import type { RunResult } from '../src/model/run-result.js';
// @ts-expect-error: a plain ES module of the build, without types
import { readAbi, renderTs, sourceDigest } from '../native/generate-abi.mjs';
import { tempDir } from './helpers/cli.js';
import { ExternalSoftHsm } from './helpers/softhsm-module.js';

const root = new URL('..', import.meta.url).pathname;

describe('one source for both sides of the native boundary (native/abi.json)', () => {
  it('src/core/native-abi.ts is what native/generate-abi.mjs makes of native/abi.json (after an edit there: npm run build:native)', () => {
    expect(readFileSync(join(root, 'src/core/native-abi.ts'), 'utf8')).toBe(renderTs(readAbi()));
  });

  it('every native part reports the digest of the sources beside it, and the loader computes the same digest as the build', () => {
    const digest = sourceDigest(readAbi());
    expect(nativeSourceDigest()).toBe(digest);
    expect((loadAddon<object>('timed_loop').part as { abi: string } | null)?.abi).toBe(digest);
    expect((loadAddon<object>('list_counts').part as { abi: string } | null)?.abi).toBe(digest);
    expect(execFileSync(join(root, 'build/Release/module_probe'), ['--abi'], { encoding: 'utf8' }).trim()).toBe(digest);
    expect(nativeProgram('module_probe').part).toBe(join(root, 'build/Release/module_probe'));
  });
});

describe('a stale native build (native/ changed after it was built)', () => {
  /** The package as built, in a folder of its own, where a native source can change without touching this one's. */
  function copyOfThePackage(): string {
    const copy = tempDir('stale-package');
    for (const part of ['bin', 'dist', 'native', 'schemas', 'binding.gyp', 'package.json']) cpSync(join(root, part), join(copy, part), { recursive: true });
    mkdirSync(join(copy, 'build'));
    cpSync(join(root, 'build/Release'), join(copy, 'build/Release'), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
    return copy;
  }

  it('is refused, never used: the run says so on stderr and in run.json, and worker threads make the calls', () => {
    const copy = copyOfThePackage();
    appendFileSync(join(copy, 'native/timed-loop.c'), '\n/* changed after the build */\n');
    const out = tempDir('stale-run');
    const r = spawnSync(process.execPath, [join(copy, 'bin/hsm-bench'), 'scale', '--alg', 'p256', '--tokens', '1', '--signatures-per-token', '20', '--json', '--out', out], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', HSM_BENCH_WORKSPACE: tempDir('stale-ws') },
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(
      /warning: no native loop: build\/Release\/timed_loop\.node is stale, built from other native sources than these \(npm run build:native rebuilds it\); worker threads make the calls instead/,
    );
    const run = JSON.parse(r.stdout) as RunResult;
    expect(run.harness.engine).toBe('threads');
    expect(run.harness.concurrency).toMatch(/timed_loop\.node is stale/);
    expect(run.configurations[0]!.operationsOk).toBe(20);
    // The other native parts of the same build are refused too (the list counter, the module probe: the Node probe runs instead).
    const parts = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { loadAddon, nativeProgram } from ${JSON.stringify(join(copy, 'dist/src/core/native-addon.js'))};
         console.log(JSON.stringify([loadAddon('list_counts'), nativeProgram('module_probe')].map((p) => ({ used: p.part !== null, stale: p.stale, why: p.why }))));`,
      ],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(parts.stdout)).toEqual([
      { used: false, stale: true, why: 'build/Release/list_counts.node is stale, built from other native sources than these (npm run build:native rebuilds it)' },
      { used: false, stale: true, why: 'build/Release/module_probe is stale, built from other native sources than these (npm run build:native rebuilds it)' },
    ]);
  }, 120_000);
});

describe('the native loop reads what it is handed strictly', () => {
  const hsm = new ExternalSoftHsm();
  const lib = new pkcs11js.PKCS11();
  let session: Buffer;
  let native: NativeLoop;

  beforeAll(() => {
    hsm.initToken('abi');
    process.env.SOFTHSM2_CONF = hsm.conf;
    lib.load(hsm.module);
    lib.C_Initialize();
    session = lib.C_OpenSession(lib.C_GetSlotList(true)[0]!, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    native = nativeLoop()!;
  });

  afterAll(() => {
    lib.C_CloseSession(session);
    lib.C_Finalize();
  });

  const handle = () => Buffer.alloc(8);
  /** A spec with every kind of field: PSS, GCM and ECDH parameters, templates, a table, a schedule (nothing of it runs: each is refused). */
  const fullSpec = (): NativeLoopSpec => ({
    operations: [
      {
        call: NATIVE.call.sign,
        mechanism: 0x0d,
        parameter: { kind: NATIVE.parameter.pss, hashAlg: 0x250, mgf: 2, saltLen: 32 },
        input: NATIVE.input.sha256,
        outputBytes: [256],
        templates: [],
        readBack: -1,
      },
      {
        call: NATIVE.call.decrypt,
        mechanism: 0x1087,
        parameter: { kind: NATIVE.parameter.gcm, iv: Buffer.alloc(12), tagBits: 128 },
        input: NATIVE.input.table,
        outputBytes: [32],
        templates: [],
        readBack: -1,
      },
      {
        call: NATIVE.call.derive,
        mechanism: 0x1050,
        parameter: { kind: NATIVE.parameter.ecdh, kdf: 1 },
        input: NATIVE.input.table,
        outputBytes: [32],
        templates: [
          [
            { type: 0x0, value: 4 },
            { type: 0x11, value: Buffer.alloc(0) },
          ],
        ],
        readBack: 0x11,
      },
    ],
    cumulative: [3, 4, 5],
    bufferBytes: 513,
    keptBytes: 256,
    keepEvery: 1,
    durationNs: 1e9,
    sharedTotal: -1,
    recovery: false,
    ringBytes: 1 << 20,
    unrecordedMaxNs: -1,
    schedule: { intervalNs: 1e6, calls: 10 },
    jobs: [
      {
        session: handle(),
        keys: [handle(), handle(), handle()],
        seed: Buffer.alloc(NATIVE.seedBytes),
        rows: [[], [Buffer.alloc(48)], [Buffer.alloc(65)]],
        aux: [[], [], []],
        warmup: 0,
        firstSequence: 0,
        count: 10,
      },
    ],
  });

  /** Every field of a spec, with its path as the native loop names it ("spec.jobs[0].seed"). */
  function fields(value: unknown, path: string, into: { path: string; holder: Record<string, unknown> | unknown[]; key: string | number }[] = []) {
    if (Buffer.isBuffer(value) || value === null || typeof value !== 'object') return into;
    for (const [key, child] of Object.entries(value)) {
      const k = Array.isArray(value) ? Number(key) : key;
      const at = Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`;
      into.push({ path: at, holder: value as Record<string, unknown>, key: k });
      fields(child, at, into);
    }
    return into;
  }

  /** Starts a loop with `spec`; stops and closes it if it did start (it should not have). */
  const startWith = (spec: unknown) => () => {
    const loop = native.start(hsm.module, spec as NativeLoopSpec);
    native.stop(loop);
    native.close(loop);
  };

  const escape = (s: string) => s.replace(/[.[\]]/g, '\\$&');

  it('a field missing, or of another type, is a TypeError that names it; nothing starts', () => {
    const all = fields(fullSpec(), 'spec');
    expect(all.length).toBeGreaterThan(40);
    for (const { path } of all) {
      const missing = fullSpec();
      const f = fields(missing, 'spec').find((x) => x.path === path)!;
      // An array element cannot be missing from the middle of an array: it is given of another type instead.
      if (!Array.isArray(f.holder)) {
        delete (f.holder as Record<string, unknown>)[f.key as string];
        expect(startWith(missing), path).toThrow(new RegExp(`^hsm-bench native loop: ${escape(path)} is missing$`));
      }
      const wrong = fullSpec();
      const g = fields(wrong, 'spec').find((x) => x.path === path)!;
      const was = (g.holder as Record<string | number, unknown>)[g.key];
      (g.holder as Record<string | number, unknown>)[g.key] = typeof was === 'number' ? String(was) : typeof was === 'boolean' ? 1 : 'text';
      expect(startWith(wrong), path).toThrow(new RegExp(`^hsm-bench native loop: ${escape(path)} (is a string, not|is a number, not|is not)`));
    }
  });

  it('a value out of its range is refused, naming the field', () => {
    const refused: [string, (s: NativeLoopSpec) => void, string][] = [
      ['an unknown call', (s) => (s.operations[0]!.call = 9), 'spec.operations[0].call is not a call the native loop makes'],
      ['an unknown recipe', (s) => (s.operations[0]!.input = 7), 'spec.operations[0].input is not an input recipe'],
      ['an unknown parameter kind', (s) => (s.operations[0]!.parameter.kind = 8), 'spec.operations[0].parameter.kind is not a kind of mechanism parameters the native loop takes'],
      ['a fraction', (s) => (s.jobs[0]!.count = 2.5), 'spec.jobs[0].count is 2.5, not an integer from -1 to 9007199254740991'],
      ['a seed of another size', (s) => (s.jobs[0]!.seed = Buffer.alloc(23)), 'spec.jobs[0].seed has 23 bytes, not 24 to 24'],
      ['an IV too long', (s) => (s.operations[1]!.parameter.iv = Buffer.alloc(17)), 'spec.operations[1].parameter.iv has 17 bytes, not 1 to 16'],
      ['weights that do not grow', (s) => (s.cumulative = [3, 3, 5]), 'spec.cumulative[1] is 3, not an integer from 4 to 4294967295'],
      [
        'an output larger than a ring slot holds',
        (s) => (s.operations[1]!.outputBytes = [32, 300]),
        'spec.operations[1].outputBytes[1] is more than spec.keptBytes, the room a ring slot has for an output',
      ],
      ['no output size', (s) => (s.operations[1]!.outputBytes = []), 'spec.operations[1].outputBytes has 0 elements, not 1 to 4'],
      ['a template for a call that takes none', (s) => s.operations[0]!.templates.push([]), 'spec.operations[0].templates has 1 elements, not 0 to 0'],
      [
        "keygen without its private key's template",
        (s) => Object.assign(s.operations[2]!, { call: NATIVE.call.keygen, parameter: { kind: NATIVE.parameter.none }, input: NATIVE.input.none }),
        'spec.operations[2].templates has 1 elements, not 2 to 2',
      ],
      ['derive reading nothing back', (s) => (s.operations[2]!.readBack = -1), 'spec.operations[2].readBack is -1, not an integer from 0 to 9007199254740991'],
      [
        'a template value of another kind',
        (s) => (s.operations[2]!.templates[0]![0]!.value = null as unknown as number),
        'spec.operations[2].templates[0][0].value is null, not a number, a boolean or a Buffer',
      ],
      [
        'derive without ECDH parameters',
        (s) => (s.operations[2]!.parameter = { kind: NATIVE.parameter.none }),
        'spec.operations[2].parameter.kind is not the ECDH parameters derive takes (and only derive)',
      ],
      [
        'ECDH parameters for another call',
        (s) => (s.operations[0]!.parameter = { kind: NATIVE.parameter.ecdh, kdf: 1 }),
        'spec.operations[0].parameter.kind is not the ECDH parameters derive takes (and only derive)',
      ],
      ['a key per operation', (s) => s.jobs[0]!.keys.pop(), 'spec.jobs[0].keys has 2 elements, not 3 to 3'],
      ['a table for an operation that reads one', (s) => (s.jobs[0]!.rows[1] = []), 'spec.jobs[0].rows[1] is empty, and the operation takes its input from it'],
      ['a handle of another size', (s) => (s.jobs[0]!.session = Buffer.alloc(4)), 'spec.jobs[0].session has 4 bytes, not 8 to 8'],
      ['a schedule with no interval', (s) => (s.schedule!.intervalNs = 0), 'spec.schedule.intervalNs is not a finite number above 0'],
    ];
    for (const [what, change, message] of refused) {
      const spec = fullSpec();
      change(spec);
      expect(startWith(spec), what).toThrow(`hsm-bench native loop: ${message}`);
    }
    expect(() => native.start(hsm.module, undefined as unknown as NativeLoopSpec)).toThrow('hsm-bench native loop: spec is undefined, not an object');
    expect(() => (native.start as (path: string) => unknown)(hsm.module)).toThrow('hsm-bench native loop: start(modulePath, spec) takes 2 arguments');
  });

  /** A loop of one job making `calls` C_GenerateRandom calls of `bytes` bytes, every output kept; its records once done. */
  async function randomCalls(bytes: number, calls: number) {
    const spec: NativeLoopSpec = {
      operations: [{ call: NATIVE.call.random, mechanism: 0, parameter: { kind: NATIVE.parameter.none }, input: NATIVE.input.none, outputBytes: [bytes], templates: [], readBack: -1 }],
      cumulative: [1],
      bufferBytes: 513,
      keptBytes: bytes,
      keepEvery: 1,
      durationNs: -1,
      sharedTotal: -1,
      recovery: false,
      ringBytes: 1 << 20,
      unrecordedMaxNs: -1,
      schedule: null,
      jobs: [{ session, keys: [handle()], seed: Buffer.alloc(NATIVE.seedBytes), rows: [[]], aux: [[]], warmup: 0, firstSequence: 0, count: calls }],
    };
    const loop = native.start(hsm.module, spec);
    const view = { state: new Int32Array(1), available: new Int32Array(1), callBeginNs: new Float64Array(1) };
    const batch = newBatch(0, calls, bytes);
    try {
      native.release(loop, process.hrtime.bigint());
      for (let waited = 0; view.state[0] !== NATIVE.jobState.done && waited < 20_000; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        native.states(loop, view);
      }
      batch.count = native.drain(loop, 0, batch);
      // A batch of another shape is refused by name, not read as something else.
      const { outputs: _, ...noOutputs } = batch;
      expect(() => native.drain(loop, 0, noOutputs as typeof batch)).toThrow('hsm-bench native loop: batch.outputs is missing');
      expect(() => native.drain(loop, 0, { ...batch, status: new Float64Array(calls) } as unknown as typeof batch)).toThrow(
        'hsm-bench native loop: batch.status is not a typed array of the element type the native loop writes',
      );
      expect(() => native.states(loop, { ...view, callBeginNs: new Float64Array(0) })).toThrow('hsm-bench native loop: view.callBeginNs has 0 elements, fewer than 1');
      expect(native.gaveUp(loop, 0)).toBe(NATIVE.gaveUp.no);
    } finally {
      native.close(loop);
    }
    return batch;
  }

  it('random: C_GenerateRandom is asked for the size the operation states (not a size of its own), and each output kept is that size', async () => {
    for (const bytes of [16, 48]) {
      const batch = await randomCalls(bytes, 20);
      expect(batch.count).toBe(20);
      expect([...batch.status.subarray(0, 20)]).toEqual(Array(20).fill(0));
      expect([...batch.outputBytes.subarray(0, 20)]).toEqual(Array(20).fill(bytes));
      expect(new Set(Array.from({ length: 20 }, (_, i) => Buffer.from(batch.outputs.subarray(i * bytes, (i + 1) * bytes)).toString('hex'))).size).toBe(20);
    }
  });
});
