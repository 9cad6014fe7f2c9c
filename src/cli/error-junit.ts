import { writeOutputFile } from '../core/output-file.js';
import { notRunOf, renderCrashedRunJunit, renderErrorJunit, renderJunit } from '../report/junit.js';
import type { ProcessDeath } from '../model/run-result.js';
import type { RunPlan } from '../model/plan.js';
import { WrongAnswerError } from '../model/wrong-answer.js';

/** A JUnit file that holds the run's own cases already: the set-up case of the error that ends the command does not replace it. */
let runCasesWritten = false;

/** The --junit FILE of this command line, if one was given. */
function junitFile(): string | undefined {
  const args = process.argv.slice(2);
  const at = args.findIndex((a) => a === '--junit' || a.startsWith('--junit='));
  const file = at < 0 ? undefined : args[at]!.startsWith('--junit=') ? args[at]!.slice('--junit='.length) : args[at + 1];
  return file === undefined || file === '' || file.startsWith('-') ? undefined : file;
}

/**
 * With --junit FILE, a run that stopped with an error (before signing, or its process killed by a module) still
 * leaves its JUnit file, with the error in it.
 */
export function writeErrorJunit(message: string): void {
  const file = junitFile();
  if (file === undefined || runCasesWritten) return;
  try {
    writeOutputFile(file, renderErrorJunit(process.argv[2] ?? 'hsm-bench', message));
  } catch {
    // The JUnit path itself may be what was wrong; the message on stderr says so.
  }
}

/**
 * With --junit FILE, a scale run whose process the module killed leaves the JUnit of its plan, from its run directory:
 * what was measured before the crash is judged as usual, the rest is an error saying the module crashed the process.
 * A run directory that cannot be read leaves the error alone (`message`).
 */
export async function writeCrashedRunJunit(run: { dir: string; suite: string }, death: ProcessDeath, message: string): Promise<void> {
  const file = junitFile();
  if (file === undefined) return;
  let xml: string;
  try {
    const { readRunJson } = await import('../result/run-directory.js');
    const { withRecordsOnDisk } = await import('../result/partial-run.js');
    // The configuration the crash cut short is counted from its records, as `report` counts it.
    const { result } = await withRecordsOnDisk(run.dir, readRunJson(run.dir));
    xml = renderCrashedRunJunit({ name: run.suite, result, thresholds: [] }, death);
  } catch {
    return writeErrorJunit(message);
  }
  try {
    writeOutputFile(file, xml);
  } catch {
    // As above: stderr says what went wrong.
  }
}

/**
 * With --junit FILE (`file`: as given, or as a resumed burn-in's checkpoint keeps it), a run whose token answered its
 * trial call wrongly leaves the JUnit of its plan: each configuration's case (named as a measured run's) a failure
 * naming the wrong answer, as a finding about the token is, where a set-up error is one `set-up` case.
 */
export async function withWrongAnswerJunit<T>(file: string | undefined, suite: string, plan: RunPlan, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (file !== undefined && error instanceof WrongAnswerError) {
      try {
        writeOutputFile(file, renderJunit([], [notRunOf(suite, plan, error.message, error.wrongAnswer)]));
        runCasesWritten = true;
      } catch {
        // As above: stderr says what went wrong, and the set-up case is tried in its place.
      }
    }
    throw error;
  }
}
