import { cpus, loadavg } from 'node:os';
import type { CpuUse } from '../model/run-result.js';

/** The CPU time of this process and of the host's CPUs at one moment: two of them give what ran between. */
export interface CpuSnapshot {
  processUs: NodeJS.CpuUsage;
  /** Summed over the host's CPUs, ms since boot. */
  hostMs: { user: number; system: number; total: number };
}

export function cpuSnapshot(): CpuSnapshot {
  const hostMs = { user: 0, system: 0, total: 0 };
  for (const { times } of cpus()) {
    hostMs.user += times.user + times.nice;
    hostMs.system += times.sys + times.irq;
    hostMs.total += times.user + times.nice + times.sys + times.irq + times.idle;
  }
  return { processUs: process.cpuUsage(), hostMs };
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * What the CPUs did between two snapshots: this process's user and system time (every thread: signers, the module's
 * work inside them, verifiers, recorder), and the host's CPUs busy in user and system mode (every process), as
 * hyperfine gives user and system time. The load average is the kernel's, at the later one.
 */
export function cpuUseBetween(from: CpuSnapshot, to: CpuSnapshot): CpuUse {
  const totalMs = Math.max(1, to.hostMs.total - from.hostMs.total);
  const userPct = (100 * (to.hostMs.user - from.hostMs.user)) / totalMs;
  const systemPct = (100 * (to.hostMs.system - from.hostMs.system)) / totalMs;
  // Rounded so that user + system never reads above the busy share itself (60.05 + 40.05 would show 100.2 %).
  const userRoundedPct = round(userPct, 1);
  const busyRoundedPct = round(userPct + systemPct, 1);
  return {
    processUserS: round((to.processUs.user - from.processUs.user) / 1e6, 3),
    processSystemS: round((to.processUs.system - from.processUs.system) / 1e6, 3),
    hostCpuS: round(totalMs / 1000, 3),
    hostUserPct: userRoundedPct,
    hostSystemPct: round(busyRoundedPct - userRoundedPct, 1),
    loadAverage1m: round(loadavg()[0]!, 2),
  };
}
