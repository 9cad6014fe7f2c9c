import { cpus, loadavg } from 'node:os';
import type { CpuUse } from '../model/run-result.js';

/** The CPU time of this process and of the host's CPUs at one moment: two of them give what ran between. */
export interface CpuSnapshot {
  processUs: NodeJS.CpuUsage;
  /** Summed over the host's CPUs, ms since boot. */
  hostMs: { user: number; system: number; idle: number };
  /** The monotonic clock, and the host's CPUs: the CPU time the host had between two snapshots. */
  wallNs: bigint;
  cpuCount: number;
}

export function cpuSnapshot(): CpuSnapshot {
  const hostMs = { user: 0, system: 0, idle: 0 };
  const all = cpus();
  for (const { times } of all) {
    hostMs.user += times.user + times.nice;
    hostMs.system += times.sys + times.irq;
    hostMs.idle += times.idle;
  }
  return { processUs: process.cpuUsage(), hostMs, wallNs: process.hrtime.bigint(), cpuCount: all.length };
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * What the CPUs did between two snapshots: this process's user and system time (every thread: signers, the module's
 * work inside them, verifiers, recorder), and the host's CPUs busy in user and system mode (every process), as
 * hyperfine gives user and system time. The load average is the kernel's, at the later one.
 *
 * The host had the interval × its CPUs, and was busy for all of it but its idle time. Its user and system counters
 * are not summed instead: the kernel samples them at its timer tick, which an idle CPU stops, so short bursts of work
 * (a call of 40 µs at a target rate) fall between ticks and are in neither; the process's own time is exact. Summed,
 * they read 3.5 of 4 CPU-s and hsm-bench at 19 % of a host 4 % busy. The ticks only split the busy time. (A CPU's
 * wait on I/O, or time a hypervisor stole, reads as busy: os.cpus() counts neither as idle.)
 */
export function cpuUseBetween(from: CpuSnapshot, to: CpuSnapshot): CpuUse {
  const totalMs = Math.max(1, (Number(to.wallNs - from.wallNs) / 1e6) * to.cpuCount);
  const busyMs = Math.min(totalMs, Math.max(0, totalMs - (to.hostMs.idle - from.hostMs.idle)));
  const [userTicksMs, systemTicksMs] = [to.hostMs.user - from.hostMs.user, to.hostMs.system - from.hostMs.system];
  const userShare = userTicksMs + systemTicksMs > 0 ? userTicksMs / (userTicksMs + systemTicksMs) : 1;
  const busyPct = (100 * busyMs) / totalMs;
  // Rounded so that user + system never reads above the busy share itself (60.05 + 40.05 would show 100.2 %).
  const userRoundedPct = round(busyPct * userShare, 1);
  const busyRoundedPct = round(busyPct, 1);
  return {
    processUserS: round((to.processUs.user - from.processUs.user) / 1e6, 3),
    processSystemS: round((to.processUs.system - from.processUs.system) / 1e6, 3),
    hostCpuS: round(totalMs / 1000, 3),
    hostUserPct: userRoundedPct,
    hostSystemPct: round(busyRoundedPct - userRoundedPct, 1),
    loadAverage1m: round(loadavg()[0]!, 2),
  };
}
