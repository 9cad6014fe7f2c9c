import { NATIVE } from '../core/native-abi.js';

/**
 * Every call's input is made of a different 32-byte message: a per-session random seed followed by the sequence
 * number (native/timed-loop.c has its twin; test/native-parity.test.ts compares them).
 */
export const MESSAGE_BYTES = NATIVE.messageBytes;
export const SEED_BYTES = NATIVE.seedBytes;

/**
 * A session's data buffer for --data-size: room for the message, then filler (the seed repeated, so no token can
 * skip data it has not seen). Each call writes only its message at the head (messageFor), so making a call's
 * data stays off the timed path's cost whatever its size.
 */
export function dataBufferFor(seed: Uint8Array, dataBytes: number): Buffer {
  const into = Buffer.alloc(dataBytes);
  if (dataBytes > MESSAGE_BYTES) into.fill(seed.subarray(0, SEED_BYTES), MESSAGE_BYTES);
  return into;
}

/** The whole data of call `sequence` as the host rebuilds it to check an output: the message alone, or the data of `dataBytes`. */
export const dataFor = (seed: Uint8Array, sequence: number, dataBytes: number = MESSAGE_BYTES): Buffer =>
  dataBytes === MESSAGE_BYTES ? messageFor(seed, sequence) : messageFor(seed, sequence, dataBufferFor(seed, dataBytes));

export function messageFor(seed: Uint8Array, sequence: number, into: Buffer = Buffer.alloc(MESSAGE_BYTES)): Buffer {
  into.set(seed.subarray(0, SEED_BYTES), 0);
  // A signed 64-bit big-endian sequence, written as two 32-bit halves to avoid a BigInt per signature.
  into.writeInt32BE(Math.floor(sequence / 2 ** 32), SEED_BYTES);
  into.writeUInt32BE(sequence >>> 0, SEED_BYTES + 4);
  return into;
}
