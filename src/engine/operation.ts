import type pkcs11 from 'pkcs11js';
import type { RsaPSS } from 'pkcs11js';
import { signInput, toPkcs11Mechanism, type SignMechanism } from '../pkcs11/mechanisms.js';
import { MAX_SIGNATURE_BYTES } from './batch.js';
import { messageFor } from './message.js';

/**
 * The operation seam of the timed loop: what one timed call is, as data, so that the two engines that run the
 * loop (a worker thread per session with pkcs11js, or the native loop of native/timed-loop.c) execute the same call
 * on the same inputs. An operation names its PKCS#11 call pair, its mechanism, the recipe of its per-call input
 * (built from a per-worker seed and the sequence number, so no input repeats), and the most bytes it returns.
 */
export interface TimedOperation {
  /** 'sign': C_SignInit + C_Sign. */
  call: 'sign';
  mechanism: SignMechanism;
  /** The input of a call: the 32-byte message, or its SHA-256 made on the host (wrapped in a DigestInfo for raw RSA). */
  input: SignMechanism['hostDigest'];
  maxOutputBytes: number;
}

export function signOperation(mechanism: SignMechanism): TimedOperation {
  return { call: 'sign', mechanism, input: mechanism.hostDigest, maxOutputBytes: MAX_SIGNATURE_BYTES };
}

/** The operation's timed call in a pkcs11js loop: `input(sequence)` then `call(...)`, returning the output length. */
export function jsTimedCall(lib: pkcs11.PKCS11, op: TimedOperation, seed: Uint8Array): { input(sequence: number): Buffer; call(session: Buffer, key: Buffer, data: Buffer, out: Buffer): number } {
  const mechanism = toPkcs11Mechanism(op.mechanism);
  const message = Buffer.alloc(32);
  return {
    input: (sequence) => signInput(op.mechanism, messageFor(seed, sequence, message)),
    call: (session, key, data, out) => {
      lib.C_SignInit(session, mechanism, key);
      return lib.C_Sign(session, data, out).length;
    },
  };
}

/** The codes of native/timed-loop.c for the same operation. */
export function nativeTimedCall(op: TimedOperation) {
  const { mechanism, parameter } = toPkcs11Mechanism(op.mechanism);
  const pss = parameter as RsaPSS | undefined;
  return {
    call: 1,
    mechanism,
    pss: pss ? { hashAlg: pss.hashAlg, mgf: pss.mgf, saltLen: pss.saltLen } : null,
    input: { none: 0, sha256: 1, 'sha256-digestinfo': 2 }[op.input],
    maxOutputBytes: op.maxOutputBytes,
  };
}
