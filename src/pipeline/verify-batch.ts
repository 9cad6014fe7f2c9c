import { VERIFIED_BAD, VERIFIED_OK, type CallBatch } from '../model/call-batch.js';
import { operationByName } from '../operations/registry.js';

/** What a verification thread needs to check any batch of the configuration. */
export interface VerifyContext {
  /** Per operation of the workload: its name, its host check data (src/operations/) and the bytes of data each call was handed. */
  operations: { name: string; data: unknown; dataBytes: number }[];
  /** Per worker: its message seed and its token. */
  messageSeeds: Uint8Array[];
  workerTokens: number[];
}

/** Fills `batch.verified` for every kept output, with the operation's own host check. */
export function verifyBatch(batch: CallBatch, context: VerifyContext): void {
  const ops = context.operations.map((o) => ({ kind: operationByName(o.name), data: o.data, dataBytes: o.dataBytes }));
  let offset = 0;
  for (let i = 0; i < batch.count; i++) {
    if (batch.kept[i] !== 1) continue;
    const length = batch.outputBytes[i]!;
    const output = Buffer.from(batch.outputs.buffer, batch.outputs.byteOffset + offset, length);
    offset += length;
    const op = ops[batch.operation[i]!]!;
    const ok = op.kind.check(op.data, context.workerTokens[batch.worker]!, context.messageSeeds[batch.worker]!, batch.firstSequence + i, output, op.dataBytes);
    batch.verified[i] = ok ? VERIFIED_OK : VERIFIED_BAD;
  }
}
