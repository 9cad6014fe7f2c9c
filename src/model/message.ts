/** Every signature signs a different 32-byte message: a per-worker random seed followed by the sequence number. */
export const MESSAGE_BYTES = 32;
const SEED_BYTES = MESSAGE_BYTES - 8;

export function messageFor(seed: Uint8Array, sequence: number, into: Buffer = Buffer.alloc(MESSAGE_BYTES)): Buffer {
  into.set(seed.subarray(0, SEED_BYTES), 0);
  // A signed 64-bit big-endian sequence, written as two 32-bit halves to avoid a BigInt per signature.
  into.writeInt32BE(Math.floor(sequence / 2 ** 32), SEED_BYTES);
  into.writeUInt32BE(sequence >>> 0, SEED_BYTES + 4);
  return into;
}
