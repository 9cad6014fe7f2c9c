import { describe, expect, it } from 'vitest';
import { burnInPlan as burnInPlanOf, durationMs, parseDurationNs, parseVerify, scalePlan as planOfInput, tokenSelection as selectionOfInput } from '../src/plan/plan.js';
import { PLAN_FLAGS, planInputFromFlags } from '../src/plan/plan-flags.js';
import type { Command } from 'commander';
import { burnInCommand } from '../src/cli/burn-in.js';
import { scaleCommand } from '../src/cli/scale.js';
import { HsmBenchError } from '../src/core/errors.js';

/** What the command line gives, read as scale and burn-in read it. */
const scalePlan = (flags: object) => planOfInput(planInputFromFlags(flags));
const tokenSelection = (flags: object) => selectionOfInput(planInputFromFlags(flags));
const parseTokenCounts = (tokens: string) => scalePlan({ ...base, tokens }).tokenCounts;

const base = { alg: 'rsa2048', tokens: '1,2,4,8', warmup: '10', threadsPerToken: '1', verify: 'all', workspace: '/tmp/ws', out: 'reports' };

describe('run plan', () => {
  it('parses token counts into sorted configurations', () => {
    expect(parseTokenCounts('8,1,4,2')).toEqual([1, 2, 4, 8]);
    expect(() => parseTokenCounts('0')).toThrow(HsmBenchError);
  });
  it('parses durations with units into exact integer nanoseconds', () => {
    expect(parseDurationNs('30s')).toBe(30_000_000_000n);
    expect(parseDurationNs('5m')).toBe(300_000_000_000n);
    expect(parseDurationNs('2h')).toBe(7_200_000_000_000n);
    expect(parseDurationNs('250ms')).toBe(250_000_000n);
    // Decimal, never binary floating point: 1.1 h × 3.6e12 is not an integer in doubles.
    expect(parseDurationNs('1.1h')).toBe(3_960_000_000_000n);
    expect(parseDurationNs('2.01s')).toBe(2_010_000_000n);
    expect(parseDurationNs('4.35m')).toBe(261_000_000_000n);
    expect(durationMs(parseDurationNs('1.1h'))).toBe(3_960_000);
    expect(() => parseDurationNs('30')).toThrow(/unit/);
    expect(() => parseDurationNs('0s')).toThrow(/out of range/);
    expect(() => parseDurationNs('0.0001ms')).toThrow(/out of range|finer/);
    expect(() => parseDurationNs('1.0000000001ms')).toThrow(/finer than a nanosecond/);
    expect(() => parseDurationNs('32d')).toThrow(/unit/);
    expect(() => parseDurationNs('800h')).toThrow(/out of range/);
    expect(() => parseDurationNs('-1s')).toThrow(/unit/);
  });
  it('every two-decimal duration of up to 24 units parses exactly', () => {
    for (const unit of ['s', 'm', 'h'] as const) {
      for (let hundredths = 1; hundredths <= 2400; hundredths++) {
        const ns = parseDurationNs(`${Math.floor(hundredths / 100)}.${String(hundredths % 100).padStart(2, '0')}${unit}`);
        const perUnit = { s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n }[unit];
        expect(ns * 100n).toBe(BigInt(hundredths) * perUnit);
      }
    }
  });
  it('bounds sessions so that a typo cannot start thousands of threads', () => {
    expect(() => scalePlan({ ...base, threadsPerToken: '10000' })).toThrow(/from 1 to 64/);
    expect(() => scalePlan({ ...base, tokens: '16', threadsPerToken: '64' })).toThrow(/more than the 512/);
    expect(scalePlan({ ...base, tokens: '8', threadsPerToken: '64' }).threadsPerToken).toEqual([64]);
  });
  it('selects by slots, serials, label and RFC 7512 URI; embedded tokens in label order', () => {
    expect(tokenSelection({}).order).toBe('label');
    expect(tokenSelection({ module: '/x.so', serials: '12,123' })).toMatchObject({ serials: ['12', '123'], order: 'slot' });
    expect(tokenSelection({ module: '/x.so', tokenUri: 'pkcs11:token=Pico-HSM%20(UserPIN);slot-id=4' }).uri).toEqual({ token: 'Pico-HSM (UserPIN)', 'slot-id': '4' });
    expect(() => tokenSelection({ slots: '1', serials: 'a' })).toThrow(/give one/);
    expect(() => tokenSelection({ slots: '1,1' })).toThrow(/twice/);
    expect(() => tokenSelection({ serials: 'a,,b' })).toThrow(/empty entry/);
    // An unset variable in a script names no token: as a selection it would let the PIN go to every token.
    expect(() => tokenSelection({ module: '/x.so', tokenLabel: '' })).toThrow(/--token-label is empty/);
    expect(() => tokenSelection({ module: '/x.so', tokenUri: ' ' })).toThrow(/--token-uri is empty/);
  });
  it('turns a verification rate into every k-th signature', () => {
    expect(parseVerify('all', 3)).toEqual({ mode: 'all', every: 1, threads: 3 });
    expect(parseVerify('none', 1)).toEqual({ mode: 'none', every: 0, threads: 1 });
    expect(parseVerify('0.01', 2)).toEqual({ mode: 'sample', every: 100, threads: 2 });
    expect(parseVerify('1', 1)).toEqual({ mode: 'all', every: 1, threads: 1 });
    expect(parseVerify('all').threads).toBeGreaterThanOrEqual(1);
    expect(scalePlan({ ...base, verifyThreads: '4' }).verify.threads).toBe(4);
    expect(() => scalePlan({ ...base, verifyThreads: '0' })).toThrow(/--verify-threads must be a whole number from 1 to 64/);
    expect(() => parseVerify('0')).toThrow(HsmBenchError);
    expect(() => parseVerify('1.5')).toThrow(HsmBenchError);
  });
  it('defaults to the seed plan: 1000 signatures per token, PKCS#1 v1.5 for RSA, the embedded backend', () => {
    const plan = scalePlan(base);
    expect(plan.stop).toEqual({ kind: 'signatures', perToken: 1000 });
    expect(plan.mechanismChoice).toBe('pkcs1');
    expect(plan.keyLabel).toBe('hsm-bench-rsa2048');
    expect(plan.backend).toEqual({ kind: 'embedded', workspace: '/tmp/ws' });
    expect(Object.isFrozen(plan)).toBe(true);
  });
  it('uses ECDSA for EC keys and the module when one is given', () => {
    const plan = scalePlan({ ...base, alg: 'bp256', module: '/usr/lib/x.so', slots: '3,0' });
    expect(plan.mechanismChoice).toBe('ecdsa');
    expect(plan.backend).toEqual({ kind: 'module', path: '/usr/lib/x.so' });
    expect(plan.selection.slotIds).toEqual(['3', '0']);
  });
});

describe('the flags of a plan', () => {
  const options = (c: Command) => c.options.map((o) => o.attributeName());
  const planOptions = Object.values(PLAN_FLAGS).map((f) => f.option);
  it('are flags of scale or burn-in', () => {
    const given = new Set([...options(scaleCommand()), ...options(burnInCommand())]);
    expect(planOptions.filter((o) => !given.has(o))).toEqual([]);
  });
  it('are every burn-in flag but these, so that its resume refuses any flag that would change what it measures', () => {
    const notPlan = options(burnInCommand()).filter((o) => !planOptions.includes(o));
    // Output and its pace, the PIN's source, resume's own flags, and the CI verdict (kept in the checkpoint apart,
    // given anew on resume). A new flag of the plan lands here until PLAN_FLAGS has it, and this test fails.
    const output = ['format', 'json', 'progressInterval', 'metricsListen'];
    const pin = ['pinEnv', 'pinFile', 'allowFinalPinTry'];
    const resume = ['resume', 'acceptLostRecords', 'pinCorrected', 'maxRestarts'];
    const verdict = ['maxFailures', 'minThroughput', 'maxP99', 'strictLatency', 'baseline', 'maxRegression', 'baselineMissing', 'saveBaseline', 'force', 'junit'];
    expect(notPlan.sort()).toEqual([...output, ...pin, ...resume, ...verdict].sort());
  });
  it('are read into a plan input whose fields are numbers and lists, the same input a lab file gives', () => {
    expect(planInputFromFlags({ tokens: '1,2', threadsPerToken: '2', rate: '50,100.5', sloP99: '20ms', slots: '3,0', serials: 'a, b', allTokens: true })).toEqual({
      tokens: [1, 2],
      threadsPerToken: [2],
      rate: [50, 100.5],
      slo: { p99: '20ms' },
      slots: [3, 0],
      serials: ['a', 'b'],
      allTokens: true,
    });
    expect(() => planInputFromFlags({ tokens: '1,x' })).toThrow(/--tokens must be a whole number, not 'x'/);
    expect(() => planInputFromFlags({ rate: '1e3' })).toThrow(/--rate must list plain decimal rates/);
    expect(() => planInputFromFlags({ tokens: '9999999999999999' })).toThrow(/--tokens must be a whole number, not '9999999999999999'/);
  });
  it("names a checkpoint's field where its plan does not hold (the flag that would set it is refused on resume)", async () => {
    const { checkpointField } = await import('../src/run/burn-in.js');
    const input = { ...planInputFromFlags({ ...base, tokens: '1,2', signatures: '100', giveUpAfter: '10m' }) };
    expect(() => burnInPlanOf(input, checkpointField)).toThrow(/checkpoint\.json \$\.plan\.tokens of a burn-in is one count/);
  });
});
