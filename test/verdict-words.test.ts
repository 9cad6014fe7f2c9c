import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { conclusions } from '../src/report/conclusions.js';
import { planLine } from '../src/report/describe-run.js';
import { verdictText } from '../src/report/verdict-section.js';
import { renderJunit } from '../src/report/junit.js';
import { readRunJson } from '../src/result/run-directory.js';
import { wordsOf } from '../src/operations/words.js';

/** The shipped P-256 scale example (embedded SoftHSM2, every signature verified, exit 0), reshaped per case. */
const example = (): RunResult => readRunJson(new URL('../fixtures/examples/scale-p256/', import.meta.url).pathname);

describe('the verdict and the conclusions name what the run did', () => {
  it('JUnit says when results were not checked on the host (--verify none): in the suite properties, the counts and every check', () => {
    const r = example();
    const checked = renderJunit([{ name: 'p256', result: r, thresholds: [] }]);
    expect(checked).toContain('<property name="hostCheck" value="every signature checked on the host"/>');
    expect(checked).not.toMatch(/not checked on the host/);
    const none = { ...r, plan: { ...r.plan, verify: { mode: 'none' as const, every: 0 } } };
    const xml = renderJunit([{ name: 'p256', result: none, thresholds: [] }]);
    expect(xml).toContain('<property name="hostCheck" value="signatures not checked on the host: --verify none"/>');
    const outs = [...xml.matchAll(/<system-out>([^<]*)<\/system-out>/g)].map((m) => m[1]!);
    expect(outs.length).toBeGreaterThan(0);
    for (const out of outs) expect(out).toMatch(/; signatures not checked on the host: --verify none$/);
    expect(xml).toMatch(/\.signatures\.measured" value="\d+ OK \(not checked on the host: --verify none\)/);
  });

  it('a mechanism given by name or number passes without claiming its results were checked', () => {
    const r = example();
    expect(verdictText(r)).toBe('PASSED: no signature failed');
    const asGiven = { ...r, operation: { name: 'sign', call: 'sign', hostCheck: 'not-checked' as const, checkSkipped: 'CKM_ECDSA was given by PKCS#11 name or number' } };
    expect(verdictText(asGiven)).toBe('PASSED: no signature failed (signatures not checked on the host)');
    const none = { ...r, plan: { ...r.plan, verify: { mode: 'none' as const, every: 0 } } };
    expect(verdictText(none)).toBe('PASSED: no signature failed (signatures not checked on the host: --verify none)');
    // A failure count says it too: those calls returned an error; the others only returned CKR_OK.
    const failed = {
      ...asGiven,
      verdict: undefined,
      configurations: asGiven.configurations.map((c) => ({ ...c, repetitions: undefined, operationsFailed: 3, failuresByCkr: { CKR_DEVICE_ERROR: 3 } })),
    };
    expect(verdictText(failed)).toMatch(/^FAILED: \d+ signatures failed \(signatures not checked on the host\)/);
  });

  it('an operation that does not sign is never said to sign', () => {
    const r = example();
    const digest = { ...r, operation: { name: 'digest', call: 'digest' }, algorithm: { ...r.algorithm, id: 'sha256', displayName: 'SHA-256', family: 'digest' as const } };
    const text = [verdictText(digest), ...conclusions(digest)].join('\n');
    expect(text).toMatch(/software tokens: their digests are this host's CPU's work/);
    expect(text).not.toMatch(/\bsign(ing|ature|atures|ed|s)?\b/i);
  });

  it('a multi-part run names C_*Init, C_*Update and C_*Final, never the one-shot call', () => {
    const r = example();
    const multipart = { ...r, operation: { name: 'encrypt', call: 'encrypt' }, plan: { ...r.plan, dataSizesBytes: [65536], multipartChunkBytes: 4096 } };
    expect(wordsOf(multipart).call).toBe('C_EncryptInit/C_EncryptUpdate/C_EncryptFinal');
    expect(planLine(multipart)).toContain('in parts of 4 KiB (C_EncryptInit/C_EncryptUpdate/C_EncryptFinal)');
    expect(wordsOf({ ...multipart, plan: { ...multipart.plan, multipartChunkBytes: undefined } }).call).toBe('C_Encrypt');
  });
});
