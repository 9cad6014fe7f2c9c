import type { Readable } from 'node:stream';

/**
 * The lines of a stream (without their '\n'), none longer than `maxBytes`: a longer one (a file's tail of NUL bytes
 * after a power loss, a file swapped for junk) is yielded as null, however long it is, instead of being gathered
 * into one string (Node's readline would, until it throws "Invalid string length").
 */
export async function* boundedLines(input: Readable, maxBytes: number): AsyncGenerator<string | null> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    let from = 0;
    for (let at = chunk.indexOf(10, from); ; at = chunk.indexOf(10, from)) {
      const end = at < 0 ? chunk.length : at;
      if (!overlong) {
        pendingBytes += end - from;
        if (pendingBytes > maxBytes) {
          overlong = true;
          pending = [];
        } else pending.push(chunk.subarray(from, end));
      }
      if (at < 0) break;
      yield overlong ? null : stripCr(Buffer.concat(pending, pendingBytes).toString('utf8'));
      pending = [];
      pendingBytes = 0;
      overlong = false;
      from = at + 1;
    }
  }
  if (overlong) yield null;
  else if (pendingBytes > 0) yield stripCr(Buffer.concat(pending, pendingBytes).toString('utf8'));
}

const stripCr = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);
