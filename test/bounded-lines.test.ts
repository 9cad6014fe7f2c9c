import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { boundedLines } from '../src/core/bounded-lines.js';

const linesOf = async (chunks: string[], maxBytes: number) => {
  const out: (string | null)[] = [];
  for await (const line of boundedLines(Readable.from(chunks.map((c) => Buffer.from(c))), maxBytes)) out.push(line);
  return out;
};

describe('bounded lines', () => {
  it('splits lines across chunks, drops a CR before the newline, and keeps a last line without one', async () => {
    expect(await linesOf(['a,b\nc', 'd\r\n\n', 'e'], 10)).toEqual(['a,b', 'cd', '', 'e']);
  });

  it('gives a line longer than the bound as null, however many chunks it spans, and goes on after it', async () => {
    const long = 'x'.repeat(25);
    expect(await linesOf(['ok\n', long.slice(0, 10), long.slice(10), '\nnext\n'], 10)).toEqual(['ok', null, 'next']);
    expect(await linesOf(['ok\n', '\0'.repeat(40)], 10)).toEqual(['ok', null]);
    expect(await linesOf(['0123456789\n'], 10)).toEqual(['0123456789']);
  });
});
