import type { ConfigurationResult, CpuUse, RunResult } from '../model/run-result.js';
import { configurationName, fixed } from './describe-run.js';
import type { TableModel } from './table-model.js';

/** The host's CPUs this busy (user + system, every process) were the limit: nothing was left for more signing. */
export const HOST_CPU_LIMIT_PCT = 90;

export const hostBusyPct = (cpu: CpuUse) => cpu.hostUserPct + cpu.hostSystemPct;
/** hsm-bench's share of the CPU time the host had, %. */
export const processSharePct = (cpu: CpuUse) => (cpu.hostCpuS > 0 ? (100 * (cpu.processUserS + cpu.processSystemS)) / cpu.hostCpuS : 0);

/** One configuration's CPU use in a line, as hyperfine gives user and system time. */
export const cpuLine = (cpu: CpuUse) =>
  `hsm-bench user ${fixed(cpu.processUserS, 2)} s, system ${fixed(cpu.processSystemS, 2)} s (${fixed(processSharePct(cpu), 0)} % of the ${fixed(cpu.hostCpuS, 1)} CPU-s the host had); host ${fixed(hostBusyPct(cpu), 0)} % busy (user ${fixed(cpu.hostUserPct, 0)} %, system ${fixed(cpu.hostSystemPct, 0)} %), load ${fixed(cpu.loadAverage1m, 2)}`;

/** Each configuration's CPU use, in lines after its name; empty for runs without it. */
export const cpuLines = (r: RunResult) => r.configurations.filter((c) => c.cpu).map((c) => `${configurationName(c)}: ${cpuLine(c.cpu!)}`);

/** The CPU use of every configuration as a table (report.md); null for runs without it. */
export function cpuTable(r: RunResult): TableModel | null {
  const measured = r.configurations.filter((c): c is ConfigurationResult & { cpu: CpuUse } => c.cpu !== undefined);
  if (measured.length === 0) return null;
  const head = ['Configuration', 'hsm-bench user (s)', 'hsm-bench system (s)', 'hsm-bench share (%)', 'Host busy (%)', 'Host user (%)', 'Host system (%)', 'Load (1 min)'];
  const rows = measured.map((c) => [
    configurationName(c),
    fixed(c.cpu.processUserS, 2),
    fixed(c.cpu.processSystemS, 2),
    fixed(processSharePct(c.cpu), 0),
    fixed(hostBusyPct(c.cpu), 0),
    fixed(c.cpu.hostUserPct, 0),
    fixed(c.cpu.hostSystemPct, 0),
    fixed(c.cpu.loadAverage1m, 2),
  ]);
  return { head, rows, numeric: head.map((_, i) => i > 0) };
}

/**
 * What the host's CPU says about a shortfall: all of it busy (the host was the limit, and how much of it was
 * hsm-bench's own), or CPU to spare (the limit was elsewhere). Null without CPU figures.
 */
export function hostCpuClause(c: ConfigurationResult): string | null {
  if (!c.cpu) return null;
  const busy = hostBusyPct(c.cpu);
  const own = processSharePct(c.cpu);
  // Most of a busy host's time in other processes: the host was shared, and its other work set the limit.
  const others = busy - own > own ? `, the other ${fixed(busy - own, 0)} % in other processes: the host was shared, and its other work took the CPU` : '';
  return busy >= HOST_CPU_LIMIT_PCT
    ? `the host's CPUs were ${fixed(busy, 0)} % busy during it, ${fixed(own, 0)} % of their time in hsm-bench's process (its sessions' threads and the module's work in them, its verifiers)${others}: the host's CPU was the limit`
    : `the host's CPUs were only ${fixed(busy, 0)} % busy during it (hsm-bench's process ${fixed(own, 0)} %): not the host's CPU`;
}
