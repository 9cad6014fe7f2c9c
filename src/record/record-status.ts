import { ckrName } from '../pkcs11/ckr.js';

/** The words a record's status is made of, and the one rule that says whether a record is a failure. */
export const STATUS_OK = 'CKR_OK';
/** A signature the token made but the host could not verify against the token's public key. */
export const VERIFY_FAILED = 'VERIFY_FAILED';
/** An error that did not come from the module (pkcs11js itself threw). */
const STATUS_NOT_A_CKR = 'ERROR';
/** The status code a worker records for an error that carries no CKR. */
export const NOT_A_CKR = -1;

export const statusOf = (code: number) => (code === NOT_A_CKR ? STATUS_NOT_A_CKR : ckrName(code));

/** Why a signature failed (its CKR name, or VERIFY_FAILED), or undefined for one that counts as made. */
export const failureOf = (r: { status: string; verified: boolean | null }): string | undefined => (r.status !== STATUS_OK ? r.status : r.verified === false ? VERIFY_FAILED : undefined);
