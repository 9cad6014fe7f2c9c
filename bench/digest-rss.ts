/**
 * The report's digest of one configuration (src/report/records-digest.ts) in a process of its own, so that the peak
 * RSS it prints is the digest's and not that of whatever wrote the log: prints its source, seconds and RSS as JSON.
 * Started by bench/records-cost.ts.
 *
 * usage: node dist/bench/digest-rss.js RUN_DIR RECORDS_FILE OPERATIONS_OK OPERATIONS_FAILED
 */
import { digestConfiguration } from '../src/report/records-digest.js';

const [dir, recordsFile, ok, failed] = process.argv.slice(2);
const rssBeforeMB = process.memoryUsage().rss / 2 ** 20;
const t = performance.now();
const digest = await digestConfiguration(dir!, { recordsFile: recordsFile!, operationsOk: Number(ok), operationsFailed: Number(failed) });
const seconds = (performance.now() - t) / 1000;
// maxRSS is in KiB: the process's peak, which the digest set (the process did nothing else).
console.log(JSON.stringify({ source: digest.source, seconds, rssBeforeMB, peakRssMB: process.resourceUsage().maxRSS / 1024 }));
