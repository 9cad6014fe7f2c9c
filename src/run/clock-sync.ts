import { execFileSync } from 'node:child_process';
import type { ClockSync } from '../model/run-result.js';

/** A tool's output, or undefined where it is missing, fails or hangs (a host without systemd has timedatectl that cannot answer). */
function output(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** adjtimex's status word: STA_UNSYNC set means the kernel's clock is not disciplined by NTP. */
const STA_UNSYNC = 0x40;

/** A field of `adjtimex --print` (`    maxerror: 16000`), or undefined. */
const field = (text: string, name: string): number | undefined => {
  const m = new RegExp(`^\\s*${name}:\\s*(\\d+)\\s*$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

/** The state as one source says it: timedatectl, chronyc, or the kernel's adjtimex status word. */
function synchronized(adjtimex: string): Pick<ClockSync, 'synchronized' | 'source'> {
  const timedatectl = output('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'])?.trim();
  if (timedatectl === 'yes' || timedatectl === 'no') return { synchronized: timedatectl, source: 'timedatectl' };
  const leap = /^Leap status\s*:\s*(.+)$/m.exec(output('chronyc', ['-n', 'tracking']) ?? '')?.[1]?.trim();
  if (leap !== undefined) return { synchronized: leap === 'Not synchronised' ? 'no' : 'yes', source: 'chronyc' };
  const status = field(adjtimex, 'status');
  if (status !== undefined) return { synchronized: (status & STA_UNSYNC) === 0 ? 'yes' : 'no', source: 'adjtimex' };
  return { synchronized: 'unknown', source: 'none' };
}

/**
 * Whether this host's clock is synchronized, as the OS says it, and the kernel's bound on its error where the
 * adjtimex tool reads it: runs that start together are only as together as their hosts' clocks.
 */
export function clockSync(): ClockSync {
  const adjtimex = output('adjtimex', ['--print']) ?? '';
  const maxErrorUs = field(adjtimex, 'maxerror');
  const estErrorUs = field(adjtimex, 'esterror');
  return { ...synchronized(adjtimex), ...(maxErrorUs === undefined ? {} : { maxErrorUs }), ...(estErrorUs === undefined ? {} : { estErrorUs }) };
}
