import { usageError } from './errors.js';
import { quote } from './quote.js';

const MS_PER_UNIT: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000 };

/**
 * A latency limit given on the command line, in ms: 500us (or 500µs), 10ms, 1.5s; a plain number is ms where
 * `plainMs` allows it (--max-p99 took plain ms before it took units). A token's call lasts from tens of µs to
 * seconds, so every latency flag takes µs, ms and s alike.
 */
export function parseLatencyMs(value: string, flag: string, plainMs: boolean): number {
  const hint = `for example ${flag} 500us, 10ms or 1.5s${plainMs ? ' (a plain number is ms)' : ''}`;
  const match = /^(\d{1,12}(?:\.\d{1,12})?)(us|µs|ms|s)?$/.exec(value.trim());
  if (!match || (match[2] === undefined && !plainMs)) throw usageError(`${flag} must be a time with a unit (us, ms, s), not ${quote(value)}`, hint);
  const ms = Number(match[1]) * MS_PER_UNIT[match[2] ?? 'ms']!;
  if (!(ms > 0)) throw usageError(`${flag} must be longer than 0`, hint);
  return ms;
}
