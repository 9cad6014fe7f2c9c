import { plural } from '../core/plural.js';
import type { ConfigurationResult, RunResult } from '../model/run-result.js';
import { burnInMishaps, burnInTokenTable, burnInVerdict, openLoopLine } from './burn-in-summary.js';
import { operationsTable, scaleTable } from './table-model.js';
import { capacityTable, rateTable, saturationTable, sizingAnswer } from './sizing-tables.js';
import { failuresOf, operationsMadeOf } from '../stats/repetitions.js';
import { notMeasured } from '../result/plan-coverage.js';
import { hms } from '../core/hms.js';
import { wordsOf } from '../operations/words.js';
import { backendLine, configurationName, fixed, lowConfidenceLines, planLine, workerIssueText } from './describe-run.js';

/** The one Markdown table writer every Markdown renderer uses. */
export function markdownTable(head: string[], rows: (string | number)[][], rightAligned = head.map((_, i) => i > 0)): string {
  const escape = (v: string | number) => String(v).replace(/\|/g, '\\|');
  return [`| ${head.map(escape).join(' | ')} |`, `|${head.map((_, i) => (rightAligned[i] ? '---:' : '---')).join('|')}|`, ...rows.map((r) => `| ${r.map(escape).join(' | ')} |`)].join('\n');
}

export interface MarkdownOptions {
  charts: { file: string; title: string }[];
  /** A burn-in's verdict as the run was judged (thresholds, baseline); without it, from its records alone. */
  verdict?: string;
  chartsUnavailable?: string;
  reference?: { name: string; throughput: Map<number, number> };
}

/** The seed's table, as the terminal shows it (one table model), plus the reference column when given. */
export function seedTable(r: RunResult, reference?: MarkdownOptions['reference']): string {
  // At target rates: what was asked and served, response and service time (the seed's shape measures flat out).
  const t = r.plan.targetRate ? rateTable(r) : scaleTable(r, reference?.throughput);
  return markdownTable(t.head, t.rows, t.numeric);
}

/**
 * How throughput scaled, and what limited it. A signer that is inside C_Sign all the time (its rate × its mean
 * latency ≈ 1) was never waiting for the harness; then if each signature took longer than with one token, the
 * tokens waited for something they share (the module, a reader or hub, the host's CPU). A signer that is often
 * outside the call was not given work fast enough. Which of the two the data shows is said plainly, so that a flat
 * line is blamed on the right thing.
 */
function scalingConclusion(r: RunResult, last: ConfigurationResult): string {
  const w = wordsOf(r);
  const e = last.efficiency!;
  const shape = e >= 0.9 ? 'near-linear' : e >= 0.6 ? 'sub-linear' : 'poor';
  const lines = [`Scaling is ${shape}: ${configurationName(last)} reached ${fixed(last.throughputPerS, 1)} ${w.nouns}/s, ${fixed(e * last.tokens, 2)}× one token (efficiency ${fixed(e, 2)}).`];
  const previous = r.configurations[r.configurations.length - 2];
  if (previous && previous.throughputPerS > last.throughputPerS)
    lines.push(`Throughput fell from ${fixed(previous.throughputPerS, 1)}/s with ${configurationName(previous)} to ${fixed(last.throughputPerS, 1)}/s.`);
  const signers = last.tokens * last.threadsPerToken;
  const busy = last.perToken.reduce((sum, t) => sum + t.throughputPerS * ((t.latencyMs?.mean ?? 0) / 1000), 0) / signers;
  const single = r.configurations.find((c) => c.tokens === 1)?.latencyMs?.mean;
  const growth = single && last.latencyMs ? last.latencyMs.mean / single : undefined;
  const software = r.backend.kind === 'embedded-softhsm2' ? ` These are software tokens: what they share is this host's ${r.host.cpuCount} CPU cores, and their own signing is that CPU.` : '';
  if (e >= 0.9) return [...lines, 'Nothing the tokens share held them back.'].join(' ');
  if (busy < 0.9) {
    lines.push(
      `Each session spent only ${fixed(busy * 100, 0)} % of the window inside ${w.call}: ${w.nouns} were not issued fast enough — check the host's load and the harness (threads, verification).`,
    );
  } else if (growth !== undefined && growth >= 1.25) {
    lines.push(
      `Each session was inside ${w.call} ${fixed(Math.min(1, busy) * 100, 0)} % of the time (the harness kept them busy), and a${/^[aeiou]/i.test(w.noun) ? 'n' : ''} ${w.noun} took ${fixed(growth, 1)}× as long on average as with one token (${fixed(single, 2)} → ${fixed(last.latencyMs!.mean, 2)} ms): the tokens waited for something they share — the module, a reader or hub, or the host.`,
    );
  } else {
    lines.push(
      `Each session was inside ${w.call} ${fixed(Math.min(1, busy) * 100, 0)} % of the time, at about its one-token latency; the shortfall is in how the tokens' windows overlapped (see throughput over time).`,
    );
  }
  return lines.join(' ') + software;
}

const sentence = (text: string) => `${text[0]!.toUpperCase()}${text.slice(1)}`;

/** Repetitions further apart than this (max − min over the median) are called out: the figure is not steady. */
const NOISY_SPREAD_PCT = 20;

/** Sentences computed from the data: how throughput scaled, how tokens differed, what failed, what was verified. */
export function conclusions(r: RunResult): string[] {
  const lines: string[] = [];
  const last = r.configurations[r.configurations.length - 1];
  if (!last) return ['No configuration was measured.', ...notMeasuredLines(r)];
  if (last.efficiency !== null && last.tokens > 1) lines.push(scalingConclusion(r, last));
  // A token that stopped (lost, PIN refused) is said as such, not ranked as the slowest.
  const stopped = new Set(last.workerIssues.map((i) => i.token));
  for (const i of last.workerIssues) lines.push(`${sentence(workerIssueText(r, i))}.`);
  const signing = last.perToken.filter((t) => !stopped.has(t.token) && t.operationsOk > 0);
  if (signing.length > 1) {
    const sorted = [...signing].sort((a, b) => a.throughputPerS - b.throughputPerS);
    const slow = sorted[0]!;
    const fast = sorted[sorted.length - 1]!;
    const spread = fast.throughputPerS > 0 ? (100 * (fast.throughputPerS - slow.throughputPerS)) / fast.throughputPerS : 0;
    lines.push(
      `With ${configurationName(last)}, the slowest token was ${slow.label} (slot ${slow.slotId}, serial ${slow.serial}, ${fixed(slow.throughputPerS, 1)}/s) and the fastest ${fast.label} (slot ${fast.slotId}, serial ${fast.serial}, ${fixed(fast.throughputPerS, 1)}/s): a spread of ${fixed(spread, 1)} %.`,
    );
  }
  const w = wordsOf(r);
  // Every repetition's operations, not only the reported ones'.
  const failed = r.configurations.reduce((n, c) => n + failuresOf(c), 0);
  const total = r.configurations.reduce((n, c) => n + operationsMadeOf(c), 0);
  if (r.interrupted) lines.push('The run was interrupted: these results are partial.');
  lines.push(
    total === 0
      ? `No ${w.noun} was made.`
      : failed === 0
        ? total === 1
          ? `The one ${w.noun} succeeded.`
          : `All ${total} ${w.nouns} succeeded.`
        : `${failed} of ${plural(total, w.noun, w.nouns)} failed (see Failures).`,
  );
  const verified = r.configurations.reduce((n, c) => n + (c.repetitions ?? [c]).reduce((m, x) => m + (x.operationsVerified ?? 0), 0), 0);
  lines.push(
    r.plan.verify.mode === 'none'
      ? `${w.Nouns} were not checked on the host (--verify none).`
      : r.operation?.checkSkipped
        ? `${w.Nouns} could not be checked on the host: ${r.operation.checkSkipped}.`
        : `${plural(verified, w.noun, w.nouns)} ${verified === 1 ? 'was' : 'were'} ${w.checked} (${r.plan.verify.mode === 'all' ? 'all of them' : `every ${r.plan.verify.every}th`}).`,
  );
  if ((r.plan.repeat ?? 1) > 1) {
    lines.push(
      `Each configuration was measured ${r.plan.repeat} times, interleaved with the others; the tables give the median repetition's figures${r.plan.repeat! % 2 === 0 ? ' (with an even number, the slower of the two middle ones: an odd --repeat gives a true median)' : ''}, with the range of its throughput over the repetitions in brackets.`,
    );
  }
  for (const c of r.configurations) {
    if ((c.spread?.relativePct ?? 0) > NOISY_SPREAD_PCT) {
      lines.push(
        `The repetitions of ${configurationName(c)} differ by ${fixed(c.spread!.relativePct, 0)} % (${fixed(c.spread!.throughputPerS.min, 1)}–${fixed(c.spread!.throughputPerS.max, 1)}/s): the host or the tokens were not steady; read its figures with care, or repeat more.`,
      );
    }
  }
  const notStarted = r.configurations.reduce((n, c) => n + (c.repetitions ?? [c]).reduce((m, x) => m + (x.openLoop?.notStarted ?? 0), 0), 0);
  if (notStarted > 0) {
    lines.push(
      `At the target rates the tokens could not keep up with, ${plural(notStarted, 'call')} of the schedules could not start before their windows closed: they were not made, and count against those rates${r.capacity ? ' (see the sizing answer)' : ''}.`,
    );
  }
  const load = r.host.loadAverage?.[0];
  if (load !== undefined && load >= r.host.cpuCount / 2) lines.push(`The host was busy before the run (load average ${load} on ${r.host.cpuCount} cores): other work shared the CPU with the run.`);
  lines.push(...lowConfidenceLines(r).map((l) => `${sentence(l)}.`));
  for (const c of r.configurations) {
    if (c.operationsUnverified) {
      const why = c.partial === 'killed' ? 'the run was killed before it verified them, and `report` counted them from the spill file' : 'a Ctrl-C skipped their verification';
      lines.push(
        `With ${configurationName(c)}, ${c.operationsUnverified} ${w.nouns} were made but never verified: verification had fallen behind, they waited on disk, and ${why}; they count as made, unchecked.`,
      );
    }
    if (c.operationsLost) lines.push(`With ${configurationName(c)}, ${c.operationsLost} ${w.nouns} were made but their outcome died with the killed process: they are not counted.`);
    if (!c.operationsVerifiedLate) continue;
    lines.push(
      `With ${configurationName(c)}, verification fell behind the tokens: ${c.operationsVerifiedLate} ${w.nouns} waited on disk and were verified after the measured window, which went on for ${fixed(c.verificationLagS ?? 0, 1)} s after it; the throughput does not include that time (more --verify-threads, or --verify with a sample, keeps up).`,
    );
  }
  if (r.backend.kind === 'embedded-softhsm2') {
    lines.push(`The tokens were SoftHSM2 software tokens sharing this host's ${r.host.cpuCount} CPU cores: throughput beyond ${r.host.cpuCount} tokens measures the host, not tokens.`);
  }
  lines.push(...notMeasuredLines(r));
  return lines;
}

/** A sentence per configuration of the plan the run did not measure whole. */
const notMeasuredLines = (r: RunResult) => notMeasured(r).map((m) => `${sentence(configurationName(m))}: ${m.reason}.`);

/** A self-contained Markdown report of one run. */
export function renderMarkdownReport(r: RunResult, o: MarkdownOptions): string {
  const out: string[] = [];
  const burnIn = r.command === 'burn-in';
  const c0 = r.configurations[0];
  const w = wordsOf(r);
  out.push(burnIn ? `# hsm-bench burn-in: ${w.title} on ${r.tokens.length} token${r.tokens.length > 1 ? 's' : ''}` : `# hsm-bench: ${w.title} throughput`, '');
  out.push(`Run \`${r.runId}\`, ${r.startedAt} to ${r.finishedAt}, hsm-bench ${r.tool.version}${r.interrupted ? ' — **interrupted, partial results**' : ''}.`, '');
  if (r.commandLine) out.push('Reproduce with (the PIN comes from the environment or a file, never the command line):', '', '```sh', r.commandLine, '```', '');
  out.push(
    `- **Host**: ${r.host.hostname}: ${r.host.cpuCount} × ${r.host.cpuModel}, ${r.host.totalMemoryMb} MB, ${r.host.platform}/${r.host.arch}, Node ${r.host.nodeVersion}${r.host.loadAverage ? `, load average ${r.host.loadAverage.join(' / ')} before signing` : ''}`,
    `- **Backend**: ${backendLine(r)}`,
    `- **Module**: ${r.module.libraryDescription} ${r.module.libraryVersion} (${r.module.manufacturer}), Cryptoki ${r.module.cryptokiVersion}, ${r.module.instances === 'shared' ? 'one instance per process' : 'an instance per load'}${r.harness.engine ? `; engine: ${r.harness.engine}` : ''}`,
    `- **Operation**: ${r.operation?.name ?? 'sign'} (${w.call}), ${r.algorithm.displayName}${w.usesKeyPair ? `, key '${r.keyLabel}'` : ''}`,
    `- **Mechanism**: ${r.mechanism.name}${r.mechanism.hostDigest === 'none' ? '' : ` (on the host: ${r.mechanism.hostDigest})`}`,
    `- **Plan**: ${planLine(r)}`,
    '',
  );
  if (burnIn && c0) {
    const performed = c0.operationsOk + c0.operationsFailed;
    out.push(
      '## Burn-in',
      '',
      markdownTable(
        ['Started', 'Stopped', 'Measured time', `${w.Nouns} performed`, 'Failed', 'Checked on the host', 'Average throughput'],
        [[r.startedAt, r.finishedAt ?? '–', hms(c0.durationS), performed, c0.operationsFailed, c0.operationsVerified, `${fixed(c0.throughputPerS, 2)}/s`]],
      ),
      '',
      `**Verdict: ${o.verdict ?? burnInVerdict(r, undefined)}**`,
      '',
    );
    const segments = r.burnIn?.segments ?? [];
    if (segments.length > 1)
      out.push(
        'Resumed: the run was stopped and continued from its checkpoint and records.',
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
      r.tokens.map((t) => [t.slotId, t.label, t.manufacturer, t.model, t.serial, t.firmwareVersion]),
      [false, false, false, false, false, false],
    ),
    '',
  );
  if (burnIn && c0) {
    // At a target rate: whether the tokens served it all run long, and what a client waited.
    if (c0.openLoop) out.push('## At the target rate', '', `${sentence(openLoopLine(c0.openLoop))}.`, '');
    out.push('## Tokens over the run', '', markdownTable(burnInTokenTable(r, c0).head, burnInTokenTable(r, c0).rows, [false, false, false, true, true, true, true, true, true, true, false]), '');
  } else {
    out.push('## Throughput', '');
    if (r.plan.targetRate) {
      out.push(
        `Calls arrived on a schedule at each target rate (open loop). Response time runs from each call's intended start, so it includes any wait for a free session; service time is the ${w.call} call alone. Late: calls that found no session free at their intended start.`,
        '',
      );
    }
    out.push(seedTable(r, o.reference), '');
  }
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
      markdownTable(
        ['Configuration', 'Slot', 'Token', 'Serial', w.Nouns, 'Failures', `${w.Nouns}/s`, 'p50 (ms)', 'p99 (ms)'],
        r.configurations.flatMap((c) =>
          c.perToken.map((t) => [
            configurationName(c),
            t.slotId,
            t.label,
            t.serial,
            t.operationsOk,
            t.operationsFailed,
            fixed(t.throughputPerS, 1),
            fixed(t.latencyMs?.p50, 2),
            fixed(t.latencyMs?.p99, 2),
          ]),
        ),
        [false, false, false, false, true, true, true, true, true],
      ),
      '',
    );
  out.push(
    `## Latency (ms, successful ${w.nouns})`,
    '',
    markdownTable(
      ['Configuration', 'p50', 'p90', 'p99', 'max', 'mean'],
      r.configurations.map((c) => [configurationName(c), fixed(c.latencyMs?.p50, 3), fixed(c.latencyMs?.p90, 3), fixed(c.latencyMs?.p99, 3), fixed(c.latencyMs?.max, 3), fixed(c.latencyMs?.mean, 3)]),
    ),
    '',
  );
  const failures = r.configurations.flatMap((c) => Object.entries(c.failuresByCkr).map(([name, n]) => [configurationName(c), name, n]));
  const issues = r.configurations.flatMap((c) => c.workerIssues.map((i) => `- ${configurationName(c)}: ${workerIssueText(r, i)}`));
  out.push('## Failures', '', failures.length === 0 ? 'None.' : markdownTable(['Configuration', 'Status', 'Count'], failures), '');
  if (issues.length > 0) out.push('Worker issues:', '', ...issues, '');
  out.push('## Charts', '');
  if (o.chartsUnavailable) out.push(`Charts were not drawn: ${o.chartsUnavailable}.`, '');
  for (const c of o.charts) out.push(`![${c.title}](${c.file})`, '');
  out.push('## Conclusion', '', ...conclusions(r).map((l) => `- ${l}`), '');
  out.push(`Records: one CSV row per ${w.noun} in \`records/\`; full results in \`run.json\` (schema version ${r.schemaVersion}).`, '');
  return out.join('\n');
}
