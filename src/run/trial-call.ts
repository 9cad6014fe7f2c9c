import { randomBytes } from 'node:crypto';
import pkcs11 from 'pkcs11js';
import { setupError } from '../core/errors.js';
import { WrongAnswerError } from '../model/wrong-answer.js';
import type { OperationKind, PreparedOperation } from '../operations/operation-kind.js';
import { ckrCode, ckrOf, describe, moduleFailure } from '../model/ckr.js';
import { tokenName, type TokenRef } from '../pkcs11/discovery.js';
import { TokenConnection } from '../pkcs11/token-connection.js';
import type { PinGuard } from '../pkcs11/pin-guard.js';
import { functionsOf, outputBufferBytes, outputFits } from '../model/workload.js';
import { byteSizeText } from '../core/byte-size.js';
import { MESSAGE_BYTES } from '../model/message.js';
import { jsTimedCall } from '../pkcs11/timed-call.js';
import type { SetupStep } from '../model/run-events.js';

/**
 * What a token answers when the operation as asked cannot work on it: its mechanism, parameters, key or template.
 * Any other failure (a device error) stops a scale and is a burn-in's to record and recover from (TrialFaults).
 */
const REFUSALS = new Set(
  [
    'CKR_MECHANISM_INVALID',
    'CKR_MECHANISM_PARAM_INVALID',
    'CKR_ARGUMENTS_BAD',
    'CKR_FUNCTION_NOT_SUPPORTED',
    'CKR_KEY_TYPE_INCONSISTENT',
    'CKR_KEY_FUNCTION_NOT_PERMITTED',
    'CKR_KEY_SIZE_RANGE',
    'CKR_SESSION_READ_ONLY',
    'CKR_TEMPLATE_INCOMPLETE',
    'CKR_TEMPLATE_INCONSISTENT',
    'CKR_ATTRIBUTE_TYPE_INVALID',
    'CKR_ATTRIBUTE_VALUE_INVALID',
    'CKR_DATA_LEN_RANGE',
    'CKR_ENCRYPTED_DATA_INVALID',
    'CKR_ENCRYPTED_DATA_LEN_RANGE',
    'CKR_DOMAIN_PARAMS_INVALID',
    'CKR_CURVE_NOT_SUPPORTED',
    // An output larger than the buffer (64 KiB for a mechanism hsm-bench does not know) would fail every call.
    'CKR_BUFFER_TOO_SMALL',
  ].map(ckrCode),
);

const FAULTY_TOKEN = 'the token or its module is faulty; hsm-bench does not measure wrong answers';

/**
 * What a trial call that fails with a code outside REFUSALS does. 'stop' (scale): the trial is set-up, and a
 * measurement whose first call fails would only count the same failure for its whole window (SoftHSM2's multi-part
 * CKM_EDDSA: CKR_OPERATION_NOT_INITIALIZED every call), so it is exit 3. 'measure' (burn-in): a burn-in measures how a
 * token survives faults over time (reconnects, --give-up-after), so a device error at its first call is its first
 * recorded failure, not a reason to never start; a fault that repeats loses the token there, in the results.
 */
export type TrialFaults = 'stop' | 'measure';

/**
 * One call of the operation on each token before any thread starts, checked on the host like every other: a token
 * that lists a mechanism but refuses its parameters (SoftHSM2 2.6.1 lists OAEP but takes only SHA-1), lacks its
 * key, or answers wrongly, stops the run here with exit 3 and the token's name, instead of failing every call of
 * the run. Any other failure stops it too, or is left to the run, as `faults` says. Returns how long each token's
 * call took (ns; 0 where none was made): the first of its service times, which bound its calls (call-watchdog.ts).
 * Made in the set-up's thread, each step told through `onStep`: a call that never returns is bounded there.
 */
export function trialCall(
  lib: pkcs11.PKCS11,
  op: OperationKind,
  prepared: PreparedOperation,
  tokens: readonly { token: TokenRef; keyId: Buffer }[],
  pinGuard: PinGuard,
  onStep: (step: SetupStep, token: number) => void,
  faults: TrialFaults,
): number[] {
  const seed = randomBytes(24);
  const tookNs = tokens.map(() => 0);
  for (const [index, { token, keyId }] of tokens.entries()) {
    // The set-up's sessions logged this instance in already: this connection presents no PIN.
    const connection = new TokenConnection(lib, token.slot, null, { guard: pinGuard, token: index }, [{ key: prepared.timed.key, id: keyId }]);
    try {
      onStep('session', index);
      const connected = connection.connect();
      if (!connected.ok && (connected.reason === 'absent' || connected.reason === 'error')) continue;
      if (!connected.ok) throw setupError(`token ${tokenName(token)}: ${connected.detail}`, 'check the token and the key');
      const timed = jsTimedCall(lib, prepared.timed, seed, prepared.tables[index] ?? null);
      const out = Buffer.alloc(outputBufferBytes({ operations: [prepared.timed] }));
      let length: number | null;
      onStep('trial', index);
      const beginNs = process.hrtime.bigint();
      try {
        length = timed.call(connection.session!, connection.keys![0]!, 0, out);
        if (timed.finish) length = timed.finish(connection.session!, out);
        tookNs[index] = Number(process.hrtime.bigint() - beginNs);
      } catch (error) {
        const payload = prepared.timed.payload;
        if (!REFUSALS.has(ckrOf(error) ?? -1)) {
          if (faults === 'measure') continue;
          // pkcs11js names the function of most failures; the timed call's own leave it empty.
          const call = moduleFailure(error)?.method || functionsOf(op.call, payload?.chunkBytes != null);
          throw setupError(
            `token ${tokenName(token)} failed the trial call before the run (${op.name} with ${prepared.timed.mechanism.name}, ${call}): ${describe(error)}`,
            payload?.chunkBytes != null
              ? 'the token may not take this mechanism in parts (SoftHSM2 2.6 signs EdDSA in one call only): run without --multipart, or check the token'
              : 'a measurement whose first call fails would fail every call: check the token, its key and the mechanism, then run again',
            error,
          );
        }
        // A SmartCard-HSM (OpenSC) stores every generated key on the card, session object or not, so it asks for a
        // read-write session: hsm-bench writes no key to a user's token to measure it.
        const readOnly = ckrOf(error) === pkcs11.CKR_SESSION_READ_ONLY;
        // A token that takes no more than so much data in one call: hsm-bench never splits calls unasked (that would change what is measured).
        if (payload !== undefined && ckrOf(error) === ckrCode('CKR_DATA_LEN_RANGE')) {
          throw setupError(
            `token ${tokenName(token)} refuses ${op.name} of ${byteSizeText(payload.dataBytes)} bytes${payload.chunkBytes === null ? ' in one call' : ` in chunks of ${byteSizeText(payload.chunkBytes)}`}: ${describe(error)}`,
            payload.chunkBytes === null
              ? 'give --multipart CHUNK (e.g. 4k) to hand it the data in parts, or smaller --data-size values'
              : 'give a smaller --multipart chunk or smaller --data-size values',
            error,
          );
        }
        throw setupError(
          `token ${tokenName(token)} cannot ${op.name} with ${prepared.timed.mechanism.name}: ${describe(error)}`,
          readOnly
            ? 'the token would store what the operation makes on itself (it asks for a read-write session); hsm-bench does not write to a token to measure it'
            : prepared.timed.unchecked
              ? "the token lists the mechanism but refuses it as asked: check its parameter (--mechanism-params, the structure's bytes as the module's ABI lays them out) and the key (--key-label, --key-id)"
              : prepared.timed.mechanism.parameter?.kind === 'oaep'
                ? 'the token lists the mechanism but refuses these parameters; SoftHSM2 2.6 takes OAEP only with SHA-1: --mechanism oaep-sha1'
                : 'the token lists the mechanism but refuses it as asked, or lacks it: choose another --mechanism, --alg or --op',
          error,
        );
      }
      const what = `${op.name} with ${prepared.timed.mechanism.name}`;
      if (length !== null && !outputFits(prepared.timed, length)) {
        throw new WrongAnswerError(
          `token ${tokenName(token)} answered ${what} with ${length === out.length ? `${length} bytes or more` : `${length} bytes`} where ${prepared.timed.unchecked ? 'at least one byte was' : `${prepared.timed.outputBytes.join(' or ')} were`} expected`,
          FAULTY_TOKEN,
          'WRONG_OUTPUT_SIZE',
        );
      }
      // Null: the token would not show the output (a sensitive derived secret); the run reports the check as skipped.
      // Unchecked: a mechanism hsm-bench does not know has no host check (the run says so).
      const data = prepared.timed.payload?.dataBytes ?? MESSAGE_BYTES;
      if (length !== null && !prepared.timed.unchecked && !op.check(prepared.check, index, seed, 0, out.subarray(0, length), data)) {
        throw new WrongAnswerError(`token ${tokenName(token)} gave a wrong result for ${what} (checked on the host)`, FAULTY_TOKEN, 'VERIFY_FAILED');
      }
    } finally {
      connection.close();
    }
  }
  return tookNs;
}
