import { usageError } from './errors.js';
import { quote } from './quote.js';

const BYTES_PER_SUFFIX: Record<string, number> = { '': 1, k: 1024, m: 1024 * 1024 };
/**
 * The largest payload a call is given (--data-size, --multipart): each session holds its payload and the output of
 * one call (an encryption as large again), so 16 MiB keeps 64 sessions within 2 GiB.
 */
export const MAX_DATA_BYTES = 16 * 1024 * 1024;

/**
 * A size in bytes such as 32, 1k or 64k (k = 1024 bytes, M = 1024 × 1024), from 1 to MAX_DATA_BYTES. A lower-case m
 * is refused: it reads as milli, or as 10⁶ (MB), as well as 1024². `example`: what the hint offers (one size or a list).
 */
export function parseByteSize(value: string, flag: string, minBytes = 1, example = '32,1k,64k,1M'): number {
  const hint = `for example ${flag} ${example} (bytes; k = 1024, M = 1024 × 1024; from ${byteSizeText(minBytes)} to ${byteSizeText(MAX_DATA_BYTES)})`;
  const match = /^(\d{1,9})([kKM]?)$/.exec(value.trim());
  if (!match) throw usageError(`${flag} must be a size in bytes (a whole number, optionally with k or M, upper-case), not ${quote(value)}`, hint);
  const bytes = Number(match[1]) * BYTES_PER_SUFFIX[match[2]!.toLowerCase()]!;
  if (bytes < minBytes || bytes > MAX_DATA_BYTES) throw usageError(`${flag} ${quote(value)} is out of range`, hint);
  return bytes;
}

/** 32 B, 1 KiB, 64 KiB, 1 MiB: a size as people read it (1,500 B where it is not whole in KiB). */
export function byteSizeName(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes.toLocaleString('en-US')} B`;
}

/** 32, 1k, 64k, 1M: a size as the flags take it (a size not whole in k is said in bytes). */
export function byteSizeText(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}M`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024}k`;
  return String(bytes);
}
