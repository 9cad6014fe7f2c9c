import { hms } from '../core/hms.js';
import { percentileCell } from '../report/latency-cells.js';
import { plural } from '../core/plural.js';
import { quote, shown } from '../core/quote.js';
import { configurationName } from '../model/configuration.js';
import type { ConfigurationRun, RunEvent } from '../model/run-events.js';
import type { ConfigurationResult } from '../model/run-result.js';
import { STEP_WORDS } from '../run/token-setup-thread.js';
import { planLine, scheduleMissMark, tokenLine, workerIssueText } from '../report/describe-run.js';

/** A run's event as people read it: a line for the log, or the text of the progress line. */
export type EventText = { log: string } | { progress: string } | null;

const labelOf = (c: ConfigurationRun) => `${configurationName(c.axes)}${c.repeat > 1 ? ` (repetition ${c.repetition} of ${c.repeat})` : ''}`;

/** One line per configuration as it ends: counts and rate, and at a target rate whether the tokens kept up. */
function configurationOutcome(c: ConfigurationResult, nouns: string): string {
  const counts = `${c.operationsOk} ${nouns} OK, ${c.operationsFailed} failed`;
  const o = c.openLoop;
  if (o === undefined) return `${counts}, ${c.throughputPerS.toFixed(1)}/s`;
  const response = o.responseMs === null ? '' : `, response p99 ${o.responseAtLeast?.includes('p99') ? '≥ ' : ''}${percentileCell(o.responseMs, 'p99', c.operationsOk)}`;
  const notStarted = o.notStarted > 0 ? `, ${o.notStarted} not started by the deadline` : '';
  return `${counts}, ${o.achievedRatePerS.toFixed(1)}/s of ${o.targetRatePerS}/s${scheduleMissMark(o)}${response}, ${o.late.sharePct}% late${notStarted}`;
}

/**
 * A configuration as it runs: its place in the run, calls so far, their rate, and the time left in it (and in the
 * run, where every configuration has the same window): "2 tokens (3 of 9): 12040 / 50000 signatures, 4012/s, 00:00:09
 * left (00:01:21 in all)".
 */
function configurationProgress(e: Extract<RunEvent, { type: 'configuration-progress' }>): string {
  if (e.startsInS !== null) return `${labelOf(e.configuration)}${e.of > 1 ? ` [${e.index} of ${e.of}]` : ''}: ready, starts in ${hms(e.startsInS)} (--start-at)`;
  const ratePerS = e.elapsedS > 0 ? e.calls / e.elapsedS : 0;
  const leftS = e.windowS !== null ? Math.max(0, e.windowS - e.elapsedS) : e.plannedCalls !== null && ratePerS > 0 ? Math.max(0, (e.plannedCalls - e.calls) / ratePerS) : null;
  const runLeftS = leftS !== null && e.windowS !== null && e.of > e.index ? leftS + (e.of - e.index) * e.windowS : null;
  const left = leftS === null ? '' : `, ${hms(leftS)} left${runLeftS === null ? '' : ` (${hms(runLeftS)} in all)`}`;
  const rate = ratePerS >= 100 ? ratePerS.toFixed(0) : ratePerS.toFixed(1);
  return `${labelOf(e.configuration)}${e.of > 1 ? ` [${e.index} of ${e.of}]` : ''}: ${e.calls}${e.plannedCalls === null ? '' : ` / ${e.plannedCalls}`} ${e.nouns}, ${rate}/s${left}`;
}

export function eventText(e: RunEvent): EventText {
  switch (e.type) {
    case 'token-created':
      return { log: `creating embedded SoftHSM2 token ${e.label} in ${shown(e.workspace)}` };
    case 'key-generated':
      return { log: `generating ${e.algorithm} key ${quote(e.label)} for ${e.usage} on ${e.token}` };
    case 'pin-presented-again':
      return { log: `presenting the PIN again to token ${e.tokens.join(', ')}, whose PIN was refused before (--pin-corrected)` };
    case 'setup-step-slow':
      return { log: `waiting for ${e.token === null ? 'the module' : `token ${e.token}`}: ${STEP_WORDS[e.step]} has not returned for ${e.waitedS} s (bound ${e.boundS} s)` };
    case 'native-loop-refused':
      return { log: `warning: ${e.why}; worker threads make the calls instead` };
    case 'run-described':
      return { log: `tokens:  ${tokenLine(e.result)}\nplan:    ${planLine(e.result)}` };
    case 'schedule-length':
      return {
        log:
          e.scope === 'sweep'
            ? `time:    the schedules take ${hms(e.seconds)} (h:m:s) at their target rates (longer where the tokens fall behind); --duration bounds each configuration`
            : e.scope === 'rate-windows'
              ? `time:    the rates' windows take ${hms(e.seconds)} (h:m:s): each long enough for its objectives' percentiles, up to --max-window`
              : `time:    the schedule takes ${hms(e.seconds)} (h:m:s) at ${e.ratePerS}/s (longer where the tokens fall behind)`,
      };
    case 'start-at':
      return {
        log: `start:   the first window opens at ${e.at}, in ${hms(e.inS)} (h:m:s)${e.settleS === null ? '' : `; each later one its planned window and ${e.settleS} s after the one before`}, on every host given this moment`,
      };
    case 'configuration-started':
      return { log: `${labelOf(e.configuration)}: running` };
    case 'configuration-progress':
      return { progress: configurationProgress(e) };
    case 'spill-verifying': {
      const text = `verifying ${e.calls} ${e.nouns} spilled during the window`;
      // When the run is stopping, the interruption says it (with what the next Ctrl-C does); else it is a note.
      return e.stopping ? { progress: `${labelOf(e.configuration)}: ${text}` } : { log: `${labelOf(e.configuration)}: ${text} (Ctrl-C skips it: they are recorded unchecked)` };
    }
    case 'spill-skipped':
      return { log: `${labelOf(e.configuration)}: verification skipped: the spilled ${e.nouns} not verified yet are recorded unchecked` };
    case 'configuration-not-measured':
      return { log: `${labelOf(e.configuration)}: interrupted before its measured window; not reported` };
    case 'configuration-ended':
      return { log: `${labelOf(e.configuration)}: ${configurationOutcome(e.result, e.nouns)}${e.cutShort ? ' (interrupted: partial)' : ''}` };
    case 'burn-in-resuming':
      return { log: `resuming ${e.runId}: ${e.records} records on disk${e.cutBytes > 0 ? ` (a partial last block of ${e.cutBytes} bytes was dropped)` : ''}` };
    case 'burn-in-records-lost':
      return {
        log: `warning: ${shown(e.path)} holds ${e.records} records; the checkpoint of ${e.checkpointAt} had counted ${e.counted} on disk, so ${e.counted - e.records} are missing; going on from them (--accept-lost-records)`,
      };
    case 'burn-in-started': {
      const amount = e.calls !== null ? `${e.calls} ${e.successfulOnly ? 'successful ' : ''}${e.nouns}` : hms(e.durationS ?? 0);
      return { log: `burn-in ${e.runId}: ${plural(e.tokens, 'token')}, ${amount}${e.ratePerS === null ? '' : ` at ${e.ratePerS}/s`}; records in ${shown(e.recordsPath)}` };
    }
    case 'burn-in-progress': {
      if (e.startsInS !== null) return { progress: `ready, starts in ${hms(e.startsInS)} (--start-at)` };
      const eta = e.etaS === null ? '' : `, ETA ${hms(e.etaS)}`;
      return {
        progress: `elapsed ${hms(e.elapsedS)}, ${e.ok}${e.target !== null ? ` / ${e.target}` : ''} ${e.nouns} OK, ${e.currentPerS.toFixed(1)}/s now, ${e.averagePerS.toFixed(1)}/s average, ${e.failed} failed${eta}`,
      };
    }
    case 'stopping': {
      const w = e.wait;
      const waiting =
        'verifyingSpill' in w
          ? `verifying ${w.verifyingSpill} ${w.nouns} spilled during the window`
          : `waiting for ${
              [
                ...(w.inFlight
                  ? [
                      `${plural(w.inFlight.calls, 'call')} in flight (the longest for ${w.inFlight.longestS.toFixed(1)} s, on ${w.inFlight.session}; at most ${w.inFlight.graceS} s more: one that has not returned by then is abandoned)`,
                    ]
                  : []),
                ...(w.checkingBatches > 0 ? [`the host check and recording of ${plural(w.checkingBatches, 'batch', 'batches')} of calls made`] : []),
                ...(w.keptForAfter > 0 ? [`the host check of ${plural(w.keptForAfter, 'output')} kept for after the window`] : []),
              ].join(', then ') || 'the sessions to close'
            }`;
      const next = {
        'leave-after-two': 'interrupt twice more to leave at once',
        'leave-after-one': 'interrupt again to leave at once',
        'skip-verification': 'interrupt again to skip verification: they are recorded unchecked',
      }[e.next];
      return { log: `${e.signal}: stopping: ${waiting}; then the results are written (${next})` };
    }
    case 'leaving-now':
      return { log: `${e.signal}: leaving now; run.json and the records are as last written` };
    case 'session-hung':
      return { log: `${e.configuration ? `${labelOf(e.configuration)}: ` : ''}${workerIssueText(e.run, e.issue)}` };
  }
}
