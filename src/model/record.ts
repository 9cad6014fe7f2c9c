/**
 * One signature as stored on disk. `token` is the token's index in run.json's `tokens` (labels and serials
 * repeat in real clusters; the index does not). `verified` is null where the signature was not checked.
 */
export interface SignatureRecord {
  configuration: number;
  token: number;
  thread: number;
  sequence: number;
  startOffsetUs: number;
  latencyUs: number;
  status: string;
  verified: boolean | null;
  /** The operation the call made (sign, decrypt…); empty in records written before operations (they signed). */
  operation: string;
  /**
   * Open loop (--rate): how long after its intended start the call began (response time = startLagUs + latencyUs),
   * and whether it was late (no session was free at its intended start); null in closed-loop runs and older records.
   */
  startLagUs: number | null;
  late: boolean | null;
}
