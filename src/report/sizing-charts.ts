import type { ChartConfiguration, ChartDataset } from 'chart.js';
import { latencyText } from '../core/latency-text.js';
import { percentileName } from '../model/plan.js';
import { configurationName } from '../model/configuration.js';
import type { RunResult } from '../model/run-result.js';
import { axis, chartStamp, INK, line, logAxis, plugins, rangeBars, SHAPES, spareColors, tokensAxis, type XY } from './charts.js';
import { wordsOf } from '../operations/words.js';

type PointKind = 'exact' | 'bound' | 'open';

/** A point drawn hollow and on its own (its legend swatch hollow too): not a measurement the line may join. */
const HOLLOW = { backgroundColor: '#fff', showLine: false, pointRadius: 6, pointBorderWidth: 2 } as const;

/**
 * Response time against the offered load (the target rate), one line per token count (and sessions per token): flat
 * while the tokens keep up, then the hockey stick where calls queue. Against the rate served, the line would turn
 * back past the knee (tokens behind serve less than asked). The objectives are drawn across.
 */
export function rateCurveChart(r: RunResult): ChartConfiguration {
  const datasets: ChartDataset<'line', XY[]>[] = [];
  const groups = new Map<string, RunResult['configurations']>();
  for (const c of r.configurations.filter((x) => x.openLoop)) {
    const key = configurationName({ tokens: c.tokens, threadsPerToken: c.threadsPerToken });
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  // A line per token count spans the rates, whose colours mean rates in the other charts: the spare colours, or ink.
  const spare = spareColors(r);
  [...groups].forEach(([name, group], i) => {
    const color = groups.size <= spare.length ? spare[i]! : INK;
    const sorted = [...group].sort((a, b) => a.openLoop!.targetRatePerS - b.openLoop!.targetRatePerS);
    // A point is drawn as measured only where it is exact and its rate judged: a lower bound (≥, calls never started)
    // or a rate the data did not decide is drawn hollow and apart, never joined to the line.
    const verdict = (c: (typeof sorted)[number]) =>
      r.capacity?.find((x) => x.tokens === c.tokens && x.threadsPerToken === c.threadsPerToken)?.rates.find((x) => x.targetRatePerS === c.openLoop!.targetRatePerS);
    const kindOf = (c: (typeof sorted)[number], p: 'p50' | 'p99'): PointKind => {
      if (c.openLoop!.responseAtLeast?.includes(p)) return 'bound';
      const v = verdict(c);
      return v !== undefined && !v.held && !v.interrupted && v.missed.length === 0 ? 'open' : 'exact';
    };
    const at = (p: 'p50' | 'p99', kind: PointKind) => sorted.map((c) => ({ x: c.openLoop!.targetRatePerS, y: kindOf(c, p) === kind ? (c.openLoop!.responseMs?.[p] ?? null) : null }));
    const lines: ['p50' | 'p99', Omit<Partial<ChartDataset<'line', XY[]>>, 'data'>][] = [
      ['p99', {}],
      ['p50', { borderDash: [6, 4], borderWidth: 1.5, pointRadius: 3 }],
    ];
    for (const [p, style] of lines) {
      datasets.push(line(`${name}: response ${p}`, at(p, 'exact'), color, { ...style, spanGaps: false }));
      const bounds = at(p, 'bound');
      if (bounds.some((b) => b.y !== null))
        datasets.push({ ...line(`${name}: response ${p} ≥ (a lower bound, calls never started: hollow △, not joined)`, bounds, color, { ...style, pointStyle: 'triangle' }), ...HOLLOW });
      const open = at(p, 'open');
      if (open.some((b) => b.y !== null)) datasets.push({ ...line(`${name}: response ${p}, rate not judged (hollow ○, not joined)`, open, color, style), ...HOLLOW });
    }
    // With --repeat: the p99 of each repetition, as a range around the median one.
    const p99s = (c: (typeof sorted)[number]) => (c.repetitions ?? []).map((x) => x.openLoop?.responseMs?.p99).filter((v): v is number => v !== undefined);
    const bars = rangeBars(
      `${name}: response p99 range over the repetitions`,
      sorted.map((c) => ({ x: c.openLoop!.targetRatePerS, range: p99s(c).length > 1 ? { min: Math.min(...p99s(c)), max: Math.max(...p99s(c)) } : null })),
      color,
    );
    if (bars) datasets.push(bars);
  });
  const xs = r.configurations.map((c) => c.openLoop?.targetRatePerS ?? 0);
  const DASHES = [
    [3, 3],
    [10, 4],
    [1, 4],
    [10, 4, 2, 4],
  ];
  for (const [i, objective] of (r.plan.objectives ?? []).entries()) {
    datasets.push(
      line(
        `objective: ${percentileName(objective.percentile)} ≤ ${latencyText(objective.ms)}`,
        [
          { x: 0, y: objective.ms },
          { x: Math.max(...xs) * 1.05, y: objective.ms },
        ],
        '#555',
        { borderDash: DASHES[i % DASHES.length], borderWidth: 1.5, pointRadius: 0 },
      ),
    );
  }
  const ys = datasets.flatMap((d) => d.data.map((p) => p.y ?? 0)).filter((y) => y > 0);
  const w = wordsOf(r);
  return {
    type: 'line',
    data: { datasets },
    options: {
      plugins: plugins(`Response time vs offered rate: ${w.title}`, chartStamp(r)),
      scales: {
        x: { type: 'linear', min: 0, ...axis(`${w.nouns} per second offered (target rate; calls never started count at their wait)`) },
        y: ys.length > 0 ? logAxis('response time from the intended start (ms)', ys) : axis('response time (ms)'),
      },
    },
  } as ChartConfiguration;
}

/** Throughput against sessions per token (log2 axis), one line per token count, the knee of each marked. */
export function sessionsChart(r: RunResult): ChartConfiguration {
  const datasets: ChartDataset<'line', XY[]>[] = [];
  const flatOut = r.configurations.filter((c) => c.openLoop === undefined);
  const counts = [...new Set(flatOut.map((c) => c.tokens))];
  // A line per token count spans the sessions, whose colours mean sessions elsewhere: ink, told apart by marker.
  counts.forEach((tokens, i) => {
    const color = INK;
    const shape = SHAPES[i % SHAPES.length]!;
    const group = flatOut.filter((c) => c.tokens === tokens).sort((a, b) => a.threadsPerToken - b.threadsPerToken);
    datasets.push(
      line(
        configurationName({ tokens, threadsPerToken: 1 }),
        group.map((c) => ({ x: Math.log2(c.threadsPerToken), y: c.throughputPerS })),
        color,
        { pointStyle: shape },
      ),
    );
    const knee = r.saturation?.find((s) => s.tokens === tokens);
    if (knee) {
      datasets.push(
        line(`${configurationName({ tokens, threadsPerToken: 1 })}: knee at ${knee.kneeThreadsPerToken} sessions`, [{ x: Math.log2(knee.kneeThreadsPerToken), y: knee.kneeThroughputPerS }], color, {
          pointRadius: 11,
          pointStyle: 'triangle',
          showLine: false,
        }),
      );
    }
  });
  return {
    type: 'line',
    data: { datasets },
    options: {
      plugins: plugins(`Throughput vs sessions per token: ${wordsOf(r).title}`, chartStamp(r)),
      scales: {
        x: tokensAxis(
          flatOut.map((c) => c.threadsPerToken),
          'sessions per token (log2 scale)',
        ),
        y: { beginAtZero: true, ...axis(`${wordsOf(r).nouns} per second`) },
      },
    },
  } as ChartConfiguration;
}
