/**
 * What the benches that compare hsm-bench with a C loop share: building bench/c/op-loop.c, and the protocol that
 * holds still on a shared, noisy machine — rounds that run both sides back to back in alternating order, so each
 * round gives the ratio of two neighbouring measurements and drift between rounds cancels.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;

/** Compiles op-loop.c into `dir`; returns the program's path. */
export function buildOpLoop(dir: string): string {
  const loop = join(dir, 'op-loop');
  execFileSync('gcc', ['-O2', '-o', loop, join(root, 'bench/c/op-loop.c'), '-I', join(root, 'node_modules/pkcs11js/includes/pkcs11'), '-ldl', '-lpthread', '-lcrypto']);
  return loop;
}

export const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** `rounds` rounds of both sides, C first in even rounds; each side returns its rate. */
export function alternatingRounds(rounds: number, c: () => number, harness: () => number): { cRates: number[]; hRates: number[]; ratios: number[] } {
  const cRates: number[] = [];
  const hRates: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Alternating order: a machine that slows down during a round penalizes each side equally often.
    let cRate: number;
    let hRate: number;
    if (i % 2 === 0) {
      cRate = c();
      hRate = harness();
    } else {
      hRate = harness();
      cRate = c();
    }
    cRates.push(cRate);
    hRates.push(hRate);
    ratios.push(hRate / cRate);
  }
  return { cRates, hRates, ratios };
}
