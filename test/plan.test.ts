import { describe, expect, it } from 'vitest';
import { parseDurationMs, parseTokenCounts, parseVerify, scalePlan } from '../src/engine/plan.js';
import { HsmBenchError } from '../src/errors.js';

const base = { alg: 'rsa2048', tokens: '1,2,4,8', warmup: '10', threadsPerToken: '1', verify: 'all', workspace: '/tmp/ws', out: 'reports' };

describe('run plan', () => {
  it('parses token counts into sorted configurations', () => {
    expect(parseTokenCounts('8,1,4,2')).toEqual([1, 2, 4, 8]);
    expect(() => parseTokenCounts('0')).toThrow(HsmBenchError);
  });
  it('parses durations with units', () => {
    expect(parseDurationMs('30s')).toBe(30_000);
    expect(parseDurationMs('5m')).toBe(300_000);
    expect(parseDurationMs('2h')).toBe(7_200_000);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(() => parseDurationMs('30')).toThrow(/unit/);
    expect(() => parseDurationMs('0s')).toThrow(/positive/);
  });
  it('turns a verification rate into every k-th signature', () => {
    expect(parseVerify('all')).toEqual({ mode: 'all', every: 1 });
    expect(parseVerify('none')).toEqual({ mode: 'none', every: 0 });
    expect(parseVerify('0.01')).toEqual({ mode: 'sample', every: 100 });
    expect(parseVerify('1')).toEqual({ mode: 'all', every: 1 });
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
