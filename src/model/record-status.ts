import { NATIVE } from '../core/native-abi.js';
import { ckrName } from './ckr.js';

/** The words a record's status is made of, and the one rule that says whether a record is a failure. */
export const STATUS_OK = 'CKR_OK';
/** A signature the token made but the host could not verify against the token's public key. */
export const VERIFY_FAILED = 'VERIFY_FAILED';

/**
 * Statuses that did not come from the module, as both timed loops record them (codes from native/abi.json). The
 * int32 column keeps a CKR's 32 bits, so vendor codes 0xFFFFFFFD–0xFFFFFFFF would read as these: no vendor range in
 * use reaches them.
 */
export const NOT_A_CKR = NATIVE.status.notACkr;
/** The module answered CKR_OK with an output of another size than the operation makes (an empty signature, a length over the buffer it was given). */
export const WRONG_OUTPUT_SIZE = NATIVE.status.wrongOutputSize;
/** The call did not return within its bound (--call-timeout, or one derived from the token's own calls): the session was abandoned. */
export const CALL_TIMED_OUT = NATIVE.status.callTimedOut;

/** A record's status for a call that never returned: it has a start, but no end (its latencyUs is how long it was in flight when given up). */
export const CALL_TIMED_OUT_STATUS = 'CALL_TIMED_OUT';

const NAMES = new Map<number, string>([
  // An error that did not come from the module (pkcs11js itself threw).
  [NOT_A_CKR, 'ERROR'],
  [WRONG_OUTPUT_SIZE, 'WRONG_OUTPUT_SIZE'],
  [CALL_TIMED_OUT, CALL_TIMED_OUT_STATUS],
]);

/** Every status name that is not a CKR name, for readers of the records file. */
export const OTHER_STATUS_NAMES: readonly string[] = [...NAMES.values()];

export const statusOf = (code: number) => NAMES.get(code) ?? ckrName(code);

/** Why a signature failed (its CKR name, WRONG_OUTPUT_SIZE, CALL_TIMED_OUT or VERIFY_FAILED), or undefined for one that counts as made. */
export const failureOf = (r: { status: string; verified: boolean | null }): string | undefined => (r.status !== STATUS_OK ? r.status : r.verified === false ? VERIFY_FAILED : undefined);
