import ciInfo from 'ci-info';
import ora, { type Ora } from 'ora';
import type { RunEvent, RunEvents } from '../model/run-events.js';
import { eventText } from './run-events.js';

/**
 * Whether a person is watching stderr: a TTY with a real width and no CI. ora loops forever on a terminal that
 * reports 0 columns (seen with ora 9), so the spinner is used only then; everything else gets plain lines.
 */
export function isInteractive(): boolean {
  return Boolean(process.stderr.isTTY && (process.stderr.columns ?? 0) > 0 && !inCi());
}

/**
 * CI as ci-info (a maintained library) detects it: CI or a CI vendor's own variables (GitHub Actions, GitLab,
 * Jenkins, …), except where CI=false says otherwise.
 */
const inCi = () => ciInfo.isCI;

/** NO_COLOR (no-color.org): any non-empty value turns colour off, the spinner's included. */
const noColor = () => Boolean(process.env.NO_COLOR);

/** Progress and log lines, always on stderr so that stdout carries only the result. */
export class Progress implements RunEvents {
  private spinner: Ora | undefined;
  private lastPlainLineMs = Date.now();

  /** Off a terminal, a plain progress line at most every `plainIntervalMs`, so CI logs show the run is alive. */
  constructor(
    private readonly interactive = isInteractive(),
    private readonly plainIntervalMs = 10_000,
  ) {}

  log = (line: string): void => {
    if (this.spinner) this.spinner.clear();
    process.stderr.write(`${line}\n`);
    this.spinner?.render();
  };

  progress = (text: string): void => {
    if (!this.interactive) {
      if (Date.now() - this.lastPlainLineMs < this.plainIntervalMs) return;
      this.lastPlainLineMs = Date.now();
      return this.log(text);
    }
    if (this.spinner) this.spinner.text = text;
    else this.spinner = ora({ text, stream: process.stderr, ...(noColor() ? { color: false as const } : {}) }).start();
  };

  emit = (e: RunEvent): void => {
    const text = eventText(e);
    if (text === null) return;
    if ('log' in text) this.log(text.log);
    else this.progress(text.progress);
  };

  progressDone = (): void => {
    this.spinner?.stop();
    this.spinner = undefined;
  };
}
