import type { OperationKind } from './operation-kind.js';

const BYTES = 32;
/** Per token, the last output this verification thread saw: a generator stuck on one value is caught. */
const lastByToken = new Map<number, Buffer>();

/**
 * C_GenerateRandom of 32 bytes. What the host can check: the length, and that an output does not repeat the one
 * before it (a stuck generator); randomness itself is beyond a benchmark.
 */
export const random: OperationKind = {
  name: 'random',
  call: 'random',
  checked: 'checked on the host for length and repetition',
  noun: 'random draw',
  nouns: 'random draws',
  title: () => 'C_GenerateRandom (32 bytes)',
  algorithms: ['random'],
  mechanismChoices: () => ['rng'],
  outputBytes: () => [BYTES],
  prepare(ctx) {
    return {
      timed: {
        name: 'random',
        call: 'random',
        mechanism: { name: 'C_GenerateRandom', ckm: 0 },
        input: 'none',
        key: { kind: 'none' },
        outputBytes: random.outputBytes(ctx.algorithm, 'C_GenerateRandom'),
      },
      tables: ctx.tokens.map(() => null),
      check: null,
      hostPreparation: 'none',
    };
  },
  check(_data, token, _seed, _sequence, output) {
    const last = lastByToken.get(token);
    lastByToken.set(token, Buffer.from(output));
    return output.length === BYTES && !(last?.equals(output) ?? false);
  },
};
