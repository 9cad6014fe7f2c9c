/** Every signature signs a different 32-byte message: a per-worker random seed followed by the sequence number. */
export const MESSAGE_BYTES = 32;
const SEED_BYTES = MESSAGE_BYTES - 8;

export function messageFor(seed: Uint8Array, sequence: number, into: Buffer = Buffer.alloc(MESSAGE_BYTES)): Buffer {
  into.set(seed.subarray(0, SEED_BYTES), 0);
  into.writeBigInt64BE(BigInt(sequence), SEED_BYTES);
  return into;
}
