import { describe, expect, it } from 'vitest';
import { NATIVE } from '../src/core/native-abi.js';
import { nativeLoop } from '../src/measure/native-engine.js';
import { messageFor } from '../src/model/message.js';
import { scheduleOf, intendedOffsetNs } from '../src/model/schedule.js';
import { hostInput, pickOperation, seedWord } from '../src/model/workload.js';

/**
 * The worker threads and the native loop compute a call's input, the mix's draw and the schedule's intended start
 * each in their own language (src/model/ and native/timed-loop.c); records of the two engines mean the same only if
 * these agree. The addon's `twins` runs the C functions the loop itself calls, over the same inputs as the JS ones.
 */
const twins = nativeLoop()!.twins;

/** mulberry32: a small seeded generator, so that a failing case is the same on every run. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const random = generator(24);
const seedOf = () => Buffer.from(Array.from({ length: NATIVE.seedBytes }, () => Math.floor(random() * 256)));
/** An integer of about 2^bits for bits from 0 to 53, either sign. */
const anySequence = () => {
  const magnitude = Math.floor(random() * 2 ** Math.floor(random() * 54));
  return random() < 0.5 ? -magnitude : magnitude;
};

/** The edges of the sequence number's two 32-bit halves and of the safe integers, both signs. */
const EDGES = [0, 1, 2, 255, 256, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 7, 2 ** 52, 2 ** 53 - 1].flatMap((n) => [n, -n]);
const SEQUENCES = [...EDGES, ...Array.from({ length: 2000 }, anySequence)];

describe('the native loop and the worker threads compute the same, bit for bit', () => {
  it('the message and every recipe made of it (message, SHA-256, SHA-256 in a DigestInfo), warm-up and measured sequence numbers', () => {
    const recipes = ['message', 'sha256', 'sha256-digestinfo'] as const;
    let compared = 0;
    for (const seed of Array.from({ length: 5 }, seedOf)) {
      for (const sequence of SEQUENCES) {
        for (const recipe of recipes) {
          const js = hostInput(recipe, messageFor(seed, sequence));
          const c = twins.input({ seed, input: NATIVE.input[recipe], sequence });
          if (!c.equals(js)) expect({ seed: seed.toString('hex'), sequence, recipe, c: c.toString('hex') }).toEqual({ seed: seed.toString('hex'), sequence, recipe, c: js.toString('hex') });
          compared++;
        }
      }
    }
    expect(compared).toBe(5 * SEQUENCES.length * 3);
    // The DigestInfo recipe is the prefix and the SHA-256, as PKCS#1 says it.
    const seed = seedOf();
    expect(twins.input({ seed, input: NATIVE.input['sha256-digestinfo'], sequence: 7 }).subarray(0, 19).toString('hex')).toBe('3031300d060960864801650304020105000420');
  });

  it('the mix draw, for one to sixteen operations of any weights up to a 32-bit total', () => {
    const weightSets = [
      [1],
      [1, 1],
      [80, 20],
      [9, 1],
      [1, 2 ** 32 - 2],
      [9_999_999, 9_999_999, 1],
      ...Array.from({ length: 20 }, () => Array.from({ length: 1 + Math.floor(random() * NATIVE.maxOperations) }, () => 1 + Math.floor(random() * 9_999_999))),
    ];
    for (const weights of weightSets) {
      const cumulative = weights.map((_, i) => weights.slice(0, i + 1).reduce((a, b) => a + b, 0));
      for (const seed of Array.from({ length: 3 }, seedOf)) {
        const mismatches = SEQUENCES.filter((sequence) => twins.pick({ cumulative, seed, sequence }) !== pickOperation(cumulative, seedWord(seed), sequence));
        expect({ cumulative, seed: seed.toString('hex'), mismatches: mismatches.slice(0, 5) }).toEqual({ cumulative, seed: seed.toString('hex'), mismatches: [] });
      }
    }
  });

  it("the schedule's intended start, for whole and fractional intervals (halves included) and calls far into a long run", () => {
    const rates = [1, 3, 7, 1000, 333.33, 1e6, 4e8, 0.5, 0.001, 2 / 3, ...Array.from({ length: 20 }, () => 10 ** (random() * 9 - 3))];
    // Intervals whose multiples fall on halves, where rounding rules differ if they differ at all.
    const intervals = [...rates.map((r) => scheduleOf(r, null).intervalNs), 0.5, 1.5, 2.5, 1e-3];
    for (const intervalNs of intervals) {
      const ks = [...Array.from({ length: 1000 }, (_, k) => k), ...Array.from({ length: 1000 }, () => Math.floor(random() * Math.min(2 ** 53, 2 ** 60 / intervalNs)))];
      const mismatches = ks.filter((k) => twins.intendedOffsetNs({ intervalNs, k }) !== BigInt(intendedOffsetNs({ intervalNs, calls: null }, k)));
      expect({ intervalNs, mismatches: mismatches.slice(0, 5) }).toEqual({ intervalNs, mismatches: [] });
    }
  });
});
