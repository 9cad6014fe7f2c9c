import type { RunResult } from '../model/run-result.js';
import { harnessOverheadText } from './harness-text.js';
import { burnInMishaps, burnInTokenTable, openLoopLine, resumedText } from './burn-in-summary.js';
import { verdictLines } from './verdict-section.js';
import { failedReturned, okInPercentiles, percentileCell } from './latency-cells.js';
import { MEAN_RESOLUTION_MS, RECORD_RESOLUTION_MS, latencyText } from '../core/latency-text.js';
import { operationsTable, scaleTable } from './table-model.js';
import { capacityTable, rateTable, saturationTable, sizingAnswer } from './sizing-tables.js';
import { hms } from '../core/hms.js';
import { wordsOf } from '../operations/words.js';
import {
  backendLine,
  basisLowNote,
  configurationName,
  fixed,
  mbPerSSuffix,
  planLine,
  runEnd,
  runEndText,
  shortfallMark,
  throughputCaption,
  timedCallText,
  verifyText,
  workerIssueText,
} from './describe-run.js';
import { conclusions, sentence } from './conclusions.js';
import { statusMeaning } from './status-meaning.js';
import { stalledConfigurations, stallLines } from './stalls-text.js';
import { cpuTable } from './cpu-text.js';
import { serialShown } from '../model/serial.js';
import { hostsLine, sourcesSection } from './sources-table.js';
import { startAtText } from './start-at-text.js';

/** The one Markdown table writer every Markdown renderer uses. */
export function markdownTable(head: string[], rows: (string | number)[][], rightAligned = head.map((_, i) => i > 0)): string {
  const escape = (v: string | number) => String(v).replace(/\|/g, '\\|');
  return [`| ${head.map(escape).join(' | ')} |`, `|${head.map((_, i) => (rightAligned[i] ? '---:' : '---')).join('|')}|`, ...rows.map((r) => `| ${r.map(escape).join(' | ')} |`)].join('\n');
}

export interface MarkdownOptions {
  charts: { file: string; title: string }[];
  chartsUnavailable?: string;
  reference?: { name: string; throughput: Map<number, number> };
}

/** The seed's table, as the terminal shows it (one table model), plus the reference column when given. */
export function seedTable(r: RunResult, reference?: MarkdownOptions['reference']): string {
  // At target rates: what was asked and served, response and service time (the seed's shape measures flat out).
  const t = r.plan.targetRate ? rateTable(r) : scaleTable(r, reference?.throughput);
  return markdownTable(t.head, t.rows, t.numeric);
}

/** Stall lines as one flat list (report.html's lists do not nest). */
const stallBullets = (lines: readonly string[]) => lines.map((l) => `- ${sentence(l.trimStart())}`);

/** A self-contained Markdown report of one run. */
export function renderMarkdownReport(r: RunResult, o: MarkdownOptions): string {
  const out: string[] = [];
  const burnIn = r.command === 'burn-in';
  const c0 = r.configurations[0];
  const w = wordsOf(r);
  out.push(burnIn ? `# hsm-bench burn-in: ${w.title} on ${r.tokens.length} token${r.tokens.length > 1 ? 's' : ''}` : `# hsm-bench: ${w.title} throughput`, '');
  out.push(`Run \`${r.runId}\`, ${r.startedAt} to ${r.finishedAt}, hsm-bench ${r.tool.version}${runEnd(r) ? ` — **${runEndText(runEnd(r)!)}, partial results**` : ''}.`, '');
  // The verdict first, as k6 puts its thresholds first.
  const v = verdictLines(r);
  out.push('## Verdict', '', `**Verdict: ${v.verdict}**`, '', ...(v.baseline ? [v.baseline, ''] : []));
  if (v.checks)
    out.push(
      markdownTable(
        v.checks.head,
        v.checks.rows,
        v.checks.head.map(() => false),
      ),
      '',
    );
  if (r.commandLine) out.push('Reproduce with (the PIN comes from the environment or a file, never the command line):', '', '```sh', r.commandLine, '```', '');
  out.push(
    r.sources
      ? `- **Hosts**: ${hostsLine(r.sources)} (each one's machine in its own run.json; the first: ${r.host.cpuCount} × ${r.host.cpuModel}, Node ${r.host.nodeVersion})`
      : `- **Host**: ${r.host.hostname}: ${r.host.cpuCount} × ${r.host.cpuModel}, ${r.host.totalMemoryMb} MB, ${r.host.platform}/${r.host.arch}, Node ${r.host.nodeVersion}${r.host.loadAverage ? `, load average ${r.host.loadAverage.join(' / ')} before the run` : ''}`,
    `- **Backend**: ${backendLine(r)}`,
    `- **Module**: ${r.module.libraryDescription} ${r.module.libraryVersion} (${r.module.manufacturer}), Cryptoki ${r.module.cryptokiVersion}, ${r.module.instances === 'shared' ? 'one instance per process' : 'an instance per load'}${r.harness.engine ? `; engine: ${r.harness.engine}` : ''}`,
    `- **Operation**: ${r.operation?.name ?? 'sign'} (${w.call}), ${r.algorithm.displayName}${w.usesKeyPair ? `, key ${[r.keyLabel && `'${r.keyLabel}'`, r.keyIdHex && `CKA_ID ${r.keyIdHex}`].filter(Boolean).join(', ')}` : ''}`,
    `- **Mechanism**: ${r.mechanism.name}${r.mechanism.hostDigest === 'none' ? '' : ` (on the host: ${r.mechanism.hostDigest})`}`,
    `- **Plan**: ${planLine(r)}`,
    ...(harnessOverheadText(r) ? [`- **Harness**: ${harnessOverheadText(r)}`] : []),
    ...(r.startAt ? [`- **Start**: --start-at ${startAtText(r.startAt)}`] : []),
    '',
  );
  if (burnIn && c0) {
    out.push(
      '## Burn-in',
      '',
      markdownTable(
        ['Started', 'Stopped', 'Measured time', `${w.Nouns} performed (successful)`, 'Failed', 'Checked on the host', `Average throughput (${verifyText(r)})`],
        [
          [
            r.startedAt,
            r.finishedAt ?? '–',
            c0.durationS < 60 ? `${fixed(c0.durationS, 2)} s` : hms(c0.durationS),
            c0.operationsOk,
            c0.operationsFailed,
            c0.operationsVerified,
            `${fixed(c0.throughputPerS, 2)}/s${mbPerSSuffix(c0)}`,
          ],
        ],
      ),
      '',
    );
    const segments = r.burnIn?.segments ?? [];
    if (segments.length > 1)
      out.push(
        resumedText(r),
        '',
        markdownTable(
          ['Segment', 'Started', 'At measured time'],
          segments.map((g, i) => [i + 1, g.startedAt, hms(g.startOffsetS)]),
        ),
        '',
      );
    const mishaps = burnInMishaps(r);
    if (mishaps.length > 0) out.push(...mishaps.map((m) => `- ${m[0]!.toUpperCase()}${m.slice(1)}.`), '');
  }
  const answer = sizingAnswer(r);
  if (answer.length > 0) {
    out.push('## Sizing answer', '', ...answer.map((l) => `- ${l}`), '');
    for (const t of [capacityTable(r), saturationTable(r)]) if (t) out.push(markdownTable(t.head, t.rows, t.numeric), '');
  }
  out.push(
    '## Tokens',
    '',
    markdownTable(
      ['Slot', 'Label', 'Manufacturer', 'Model', 'Serial', 'Firmware'],
      r.tokens.map((t) => [t.slotId, t.label, t.manufacturer, t.model, serialShown(t.serial), t.firmwareVersion]),
      [false, false, false, false, false, false],
    ),
    '',
  );
  if (burnIn && c0) {
    // At a target rate: whether the tokens served it all run long, and what a client waited.
    if (c0.openLoop) out.push('## At the target rate', '', `${sentence(openLoopLine(c0.openLoop, c0.operationsOk))}.`, '');
    out.push('## Tokens over the run', '', markdownTable(burnInTokenTable(r, c0).head, burnInTokenTable(r, c0).rows, [false, false, false, true, true, true, true, true, true, true, false]), '');
    const stalls = stallLines(r, c0);
    if (stalls.length > 0) out.push('## Gaps and stalls', '', ...stallBullets(stalls), '');
  } else {
    out.push('## Throughput', '');
    if (r.plan.targetRate) {
      out.push(
        `Calls arrived on a schedule at each target rate (open loop). Response time runs from each call's intended start, so it includes any wait for a free session; service time is each ${timedCallText(r)}. Late: calls that found no session free at their intended start.`,
        '',
      );
    }
    const low = basisLowNote(r);
    out.push(seedTable(r, o.reference), '', `${throughputCaption(r)}.`, '', ...(low ? [`${low}.`, ''] : []));
  }
  const hosts = sourcesSection(r, w);
  if (hosts) out.push('## Per host', '', ...hosts.lines, '', markdownTable(hosts.head, hosts.rows, hosts.numeric), '');
  const byOperation = operationsTable(r);
  if (byOperation)
    out.push(
      '## Per operation',
      '',
      `The mix: ${r.operation!.mix!.map((m) => `${m.name} (${m.algorithm}, ${m.mechanism}) × ${m.weight}`).join(', ')}; each call's operation is drawn from its worker's seed and sequence number and recorded.`,
      '',
      markdownTable(byOperation.head, byOperation.rows, byOperation.numeric),
      '',
    );
  if (!burnIn && o.reference && o.reference.throughput.size > 0) out.push(`Reference: ${o.reference.name}.`, '');
  if (!burnIn)
    out.push(
      '## Per token',
      '',
      // A merged run's tokens were counted by their own hosts: over each host's window, not the common one.
      ...(r.sources
        ? [`Each token's figures are over its own host's window (Per host: "Own window"), not the common window the configuration's ${w.nouns}/s cover: they do not add up to it.`, '']
        : []),
      markdownTable(
        [
          'Configuration',
          'Slot',
          'Token',
          'Serial',
          `${w.Nouns} (successful)`,
          'Failures',
          r.sources ? `${w.Nouns}/s over its host's window` : `${w.Nouns}/s`,
          'Service p50',
          'Service p99',
          'Longest gap',
        ],
        r.configurations.flatMap((c) =>
          c.perToken.map((t) => [
            `${configurationName(c)}${shortfallMark(r, c)}`,
            t.slotId,
            t.label,
            serialShown(t.serial),
            t.operationsOk,
            t.operationsFailed,
            fixed(t.throughputPerS, 1),
            percentileCell(t.latencyMs, 'p50', t.operationsOk),
            percentileCell(t.latencyMs, 'p99', t.operationsOk),
            latencyText(t.longestGapMs),
          ]),
        ),
        [false, false, false, false, true, true, true, true, true, true],
      ),
      '',
    );
  const stalled = burnIn ? [] : stalledConfigurations(r);
  if (stalled.length > 0) out.push('## Gaps and stalls', '', ...stalled.flatMap((c) => [`### ${configurationName(c)}`, '', ...stallBullets(stallLines(r, c)), '']));
  // Flat out (a closed loop) the service time is all there is, and its tail is understated: said, with the corrected
  // estimate beside it. At target rates the response times are in the table above.
  const closedLoop = r.configurations.some((c) => c.correctedLatencyMs !== undefined);
  out.push(
    `## Service time (successful ${w.nouns})`,
    '',
    `Service time: each ${timedCallText(r)}, from its start to its return${r.plan.targetRate ? "; the response times, from each call's intended start, are in the table above" : ''}. A percentile is shown where at least one call lies beyond it (n: the calls it rests on).${
      closedLoop
        ? ` Flat out (a closed loop), a session starts its next call only when the last one returns, so a slow call holds back the calls behind it and these percentiles understate the tail a client arriving on schedule would see; "Corrected p99" adds the calls held back (HdrHistogram's correction for coordinated omission, with the interval between a session's calls that the loop achieved — the window × the sessions / the calls — as the expected interval: ${r.configurations
            .filter((c) => c.correctedLatencyMs)
            .map((c) => `${configurationName(c)} ${latencyText(c.correctedLatencyMs!.expectedIntervalMs)}`)
            .join(', ')}). \`--rate\` measures response times from each call's intended start instead.`
        : ''
    }`,
    '',
    markdownTable(
      ['Configuration', 'n', 'p50', 'p90', 'p99', 'max', 'mean', ...(closedLoop ? ['Corrected p99'] : [])],
      r.configurations.map((c) => [
        `${configurationName(c)}${shortfallMark(r, c)}`,
        okInPercentiles(c),
        percentileCell(c.latencyMs, 'p50', okInPercentiles(c)),
        percentileCell(c.latencyMs, 'p90', okInPercentiles(c)),
        percentileCell(c.latencyMs, 'p99', okInPercentiles(c)),
        latencyText(c.latencyMs?.max, RECORD_RESOLUTION_MS),
        latencyText(c.latencyMs?.mean, MEAN_RESOLUTION_MS),
        ...(closedLoop ? [c.correctedLatencyMs ? percentileCell(c.correctedLatencyMs, 'p99', c.operationsOk) : '–'] : []),
      ]),
    ),
    '',
  );
  const cpu = cpuTable(r);
  if (cpu)
    out.push(
      '## CPU during the measured window',
      '',
      "hsm-bench's process (every thread: the sessions' threads and the module's work in them, verifiers, recorder) and the host's CPUs (every process), as hyperfine gives user and system time.",
      '',
      markdownTable(cpu.head, cpu.rows, cpu.numeric),
      '',
    );
  // A status that is not the module's CKR code says what it means beside it.
  const failures = r.configurations.flatMap((c) => Object.entries(c.failuresByCkr).map(([name, n]) => [configurationName(c), name, n, statusMeaning(r, name) ?? '']));
  const issues = r.configurations.flatMap((c) => (c.repetitions ?? [c]).flatMap((x) => x.workerIssues).map((i) => `- ${configurationName(c)}: ${workerIssueText(r, i)}`));
  out.push('## Failures', '', failures.length === 0 ? 'None.' : markdownTable(['Configuration', 'Status', 'Count', 'Meaning'], failures, [false, false, true, false]), '');
  // How long the failed calls took, apart: never mixed into the service time, never dropped unsaid.
  const failedTimes = r.configurations.filter((c) => c.failedLatencyMs);
  if (failedTimes.length > 0)
    out.push(
      'Time to fail (failed calls that returned; not in the service times above, and a call that never returned has none):',
      '',
      markdownTable(
        ['Configuration', 'n', 'p50', 'p99', 'max'],
        failedTimes.map((c) => [
          configurationName(c),
          failedReturned(c),
          percentileCell(c.failedLatencyMs, 'p50', failedReturned(c)),
          percentileCell(c.failedLatencyMs, 'p99', failedReturned(c)),
          latencyText(c.failedLatencyMs!.max, RECORD_RESOLUTION_MS),
        ]),
      ),
      '',
    );
  if (issues.length > 0) out.push('Worker issues:', '', ...issues, '');
  out.push('## Charts', '');
  if (o.chartsUnavailable) out.push(`Charts were not drawn: ${o.chartsUnavailable}.`, '');
  for (const c of o.charts) out.push(`![${c.title}](${c.file})`, '');
  out.push('## Conclusion', '', ...conclusions(r).map((l) => `- ${l}`), '');
  out.push(`Records: one record per ${w.noun} in \`records/\` (binary; \`hsm-bench records RUN_DIR --csv\` writes them as CSV); full results in \`run.json\` (schema version ${r.schemaVersion}).`, '');
  return out.join('\n');
}
