import { NATIVE } from '../core/native-abi.js';

/**
 * Every call's input is made of a different 32-byte message: a per-session random seed followed by the sequence
 * number (native/timed-loop.c has its twin; test/native-parity.test.ts compares them).
 */
export const MESSAGE_BYTES = NATIVE.messageBytes;
export const SEED_BYTES = NATIVE.seedBytes;

export function messageFor(seed: Uint8Array, sequence: number, into: Buffer = Buffer.alloc(MESSAGE_BYTES)): Buffer {
  into.set(seed.subarray(0, SEED_BYTES), 0);
  // A signed 64-bit big-endian sequence, written as two 32-bit halves to avoid a BigInt per signature.
  into.writeInt32BE(Math.floor(sequence / 2 ** 32), SEED_BYTES);
  into.writeUInt32BE(sequence >>> 0, SEED_BYTES + 4);
  return into;
}
