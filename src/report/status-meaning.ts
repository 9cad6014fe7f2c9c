import { CALL_TIMEOUT_FLOOR_MS, CALL_TIMEOUT_SLOWEST_MULTIPLE } from '../measure/call-watchdog.js';
import { operationByName } from '../operations/registry.js';
import { algorithmById } from '../model/algorithms.js';
import { CALL_TIMED_OUT, NOT_A_CKR, statusOf, VERIFY_FAILED, WRONG_OUTPUT_SIZE } from '../model/record-status.js';
import type { RunResult } from '../model/run-result.js';
import { UNCHECKED_OUTPUT_BUFFER_BYTES } from '../model/workload.js';
import { wordsOf } from '../operations/words.js';

type Run = Pick<RunResult, 'operation' | 'algorithm' | 'mechanism' | 'plan'>;

/** What each operation of the run makes, in bytes: "ECDSA P-256 makes 64 bytes" (for a mix, each of its operations). */
function expectedSizes(r: Run): string {
  // A mechanism as given makes outputs of a size hsm-bench cannot tell: only an empty one (or one past the buffer) is wrong.
  if (r.operation?.hostCheck === 'not-checked') return `${r.mechanism.name} makes at least one byte, less than ${UNCHECKED_OUTPUT_BUFFER_BYTES}`;
  const entries = r.operation?.mix?.map((m) => ({ name: m.name, algorithm: algorithmById(m.algorithm), mechanism: m.mechanism })) ?? [
    { name: r.operation?.name ?? 'sign', algorithm: r.algorithm, mechanism: r.mechanism.name },
  ];
  return entries
    .map((e) => {
      const op = operationByName(e.name);
      return `${op.title(e.algorithm)} makes ${op.outputBytes(e.algorithm, e.mechanism).join(' or ')} bytes`;
    })
    .join(', ');
}

/**
 * The statuses a record can carry that are not the module's own CKR code, and what each means in a few words:
 * the one table every renderer (terminal, report.md, burn-in summary, JUnit) explains them from.
 */
const MEANINGS = new Map<string, (r: Run) => string>([
  [statusOf(WRONG_OUTPUT_SIZE), (r) => `CKR_OK with an output of the wrong size (${expectedSizes(r)})`],
  [
    statusOf(CALL_TIMED_OUT),
    (r) =>
      `the call did not return within ${r.plan.callTimeoutS !== undefined ? `${r.plan.callTimeoutS} s (--call-timeout)` : `${CALL_TIMEOUT_SLOWEST_MULTIPLE} × the token's slowest call, at least ${CALL_TIMEOUT_FLOOR_MS / 1000} s`}; its session was abandoned`,
  ],
  [VERIFY_FAILED, (r) => `CKR_OK, but the ${wordsOf(r).noun} failed when ${wordsOf(r).checked}`],
  [statusOf(NOT_A_CKR), () => 'the call failed without a CKR code from the module (the PKCS#11 binding threw)'],
]);

/** What a status means, where it is not a CKR code of the module (whose name says it); undefined for those. */
export const statusMeaning = (r: Run, status: string): string | undefined => MEANINGS.get(status)?.(r);

/** Failures by status, counted, each status that is not a CKR code explained: "WRONG_OUTPUT_SIZE ×100: CKR_OK with …; CKR_DEVICE_ERROR ×3". */
export const failureList = (r: Run, failuresByCkr: Record<string, number>): string =>
  Object.entries(failuresByCkr)
    .map(([status, n]) => {
      const meaning = statusMeaning(r, status);
      return `${status} ×${n}${meaning === undefined ? '' : `: ${meaning}`}`;
    })
    .join('; ');
