import { describe, expect, it } from 'vitest';
import type { RunResult } from '../src/model/run-result.js';
import { conclusions } from '../src/report/conclusions.js';
import { planLine } from '../src/report/describe-run.js';
import { verdictText } from '../src/report/verdict-section.js';
import { renderJunit } from '../src/report/junit.js';
import { readRunJson } from '../src/result/run-directory.js';
import { wordsOf } from '../src/operations/words.js';
import { renderMarkdownReport } from '../src/report/markdown.js';
import { runName } from '../src/report/comparison.js';
import { renderScaleTable } from '../src/report/terminal-table.js';
import { incomparability } from '../src/verdict/compare.js';

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

  it('the service-time caption says what one timed call is: the whole sequence in parts, the session opened to closed per call', () => {
    const r = example();
    const caption = (run: RunResult) => /Service time: each ([^.]*), from its start to its return/.exec(renderMarkdownReport(run, { charts: [] }))?.[1];
    expect(caption(r)).toBe('C_Sign call alone');
    const multipart = { ...r, operation: { name: 'encrypt', call: 'encrypt' }, plan: { ...r.plan, dataSizesBytes: [65536], multipartChunkBytes: 4096 } };
    expect(caption(multipart)).toBe('C_EncryptInit/C_EncryptUpdate/C_EncryptFinal sequence, timed as one call');
    const perCall = { ...r, plan: { ...r.plan, perCall: { session: true, findKey: false } } };
    expect(caption(perCall)).toBe('C_OpenSession, login where the token was logged out, key found, C_Sign and C_CloseSession, timed as one call');
    expect(caption({ ...r, plan: { ...r.plan, perCall: { session: false, findKey: true } } })).toBe('key lookup (C_FindObjects) and C_Sign, timed as one call');
    // The terminal's legend says the same.
    expect(renderScaleTable(perCall)).toContain('Svc: service time of each C_OpenSession, login where the token was logged out, key found, C_Sign and C_CloseSession');
  });

  it('a multi-part run is named as such beside its mechanism, and compare names multipart as what differs', () => {
    const r = example();
    const multipart = { ...r, plan: { ...r.plan, dataSizesBytes: [65536], multipartChunkBytes: 4096 } };
    const oneCall = { ...r, plan: { ...r.plan, dataSizesBytes: [65536] } };
    expect(runName(multipart)).toBe(`${wordsOf(r).title} (${r.mechanism.name}, in parts of 4 KiB)`);
    expect(runName({ ...multipart, plan: { ...multipart.plan, perCall: { session: true, findKey: false } } })).toMatch(/, session per call, in parts of 4 KiB\)$/);
    expect(incomparability(oneCall, multipart)).toEqual(['plans differ (multipart (in one call vs in parts of 4 KiB))']);
    expect(incomparability(r, { ...r, plan: { ...r.plan, warmupOperationsPerToken: 7 } })).toEqual(['plans differ (warm-up)']);
  });
});
