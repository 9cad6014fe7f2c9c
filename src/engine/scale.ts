import { cpus, hostname, totalmem } from 'node:os';
import { prepareEmbedded } from '../embedded/softhsm.js';
import { listTokens, selectTokens, tokenName, type TokenRef } from '../pkcs11/discovery.js';
import { findKeyPair } from '../pkcs11/keys.js';
import { chooseSignMechanism } from '../pkcs11/mechanisms.js';
import { Pkcs11Module } from '../pkcs11/module.js';
import { login, openSession } from '../pkcs11/session.js';
import { createRunDirectory, writeRunJson } from '../result/run-directory.js';
import { SCHEMA_VERSION, type ConfigurationResult, type RunResult } from '../result/run-result.js';
import { readPin, type PinSource } from '../secrets/pin.js';
import { summarizeConfiguration, withEfficiency } from '../stats/summarize.js';
import { TOOL_VERSION } from '../version.js';
import { publicKeyFromAttributes } from '../verify/public-key.js';
import { RunControl } from './control.js';
import type { RunPlan } from './plan.js';
import { runConfiguration, type ReadyToken } from './run-configuration.js';

export interface ScaleUi {
  log(line: string): void;
  progress(text: string): void;
  progressDone(): void;
}

export interface ScaleOutcome {
  result: RunResult;
  dir: string;
}

/** Stops the run on SIGINT/SIGTERM: signatures in flight finish, results so far are written. A second signal exits at once. */
class Interruption {
  requested = false;
  private control: RunControl | undefined;
  private readonly onSignal = () => {
    if (this.requested) process.exit(130);
    this.requested = true;
    this.control?.requestStop();
  };
  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }
  watch(control: RunControl): void {
    this.control = control;
    if (this.requested) control.requestStop();
  }
  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

function identity(t: TokenRef) {
  return { slotId: t.slotId, label: t.label, manufacturer: t.manufacturer, model: t.model, serial: t.serial, firmwareVersion: t.firmwareVersion };
}

/** The scaling experiment: for each N in the plan, N tokens sign at once; results are written after every configuration. */
export async function runScale(plan: RunPlan, pinSource: PinSource, ui: ScaleUi): Promise<ScaleOutcome> {
  const maxTokens = plan.tokenCounts[plan.tokenCounts.length - 1]!;
  const embedded = plan.backend.kind === 'embedded' ? prepareEmbedded(plan.backend.workspace, maxTokens, plan.algorithm, plan.keyLabel, ui.log) : undefined;
  const modulePath = embedded?.modulePath ?? (plan.backend as { path: string }).path;

  const mod = Pkcs11Module.open(modulePath);
  const loginSessions: Buffer[] = [];
  const interruption = new Interruption();
  try {
    const tokens = selectTokens(listTokens(mod.lib), plan.selection, maxTokens).slice(0, maxTokens);
    const mechanism = chooseSignMechanism(
      plan.mechanismChoice,
      tokens.map((t) => ({ name: tokenName(t), mechanisms: mod.lib.C_GetMechanismList(t.slot) })),
    );
    const pin = embedded?.pin ?? (tokens.some((t) => t.loginRequired) ? await readPin(pinSource) : undefined);
    const ready: ReadyToken[] = tokens.map((token) => {
      // This session stays open for the whole run: closing a token's last session logs it out (pitfall 9).
      const session = openSession(mod.lib, token);
      loginSessions.push(session);
      if (token.loginRequired) login(mod.lib, session, token, pin!);
      const key = findKeyPair(mod.lib, session, token, plan.algorithm, plan.keyLabel);
      return { token, privateKey: key.privateKey, publicKey: publicKeyFromAttributes(key.publicKey) };
    });

    const startedAt = new Date();
    const { runId, dir } = createRunDirectory(plan.outDir, startedAt, plan.algorithm.id);
    const configurations: ConfigurationResult[] = [];
    const result = (): RunResult => ({
      schemaVersion: SCHEMA_VERSION,
      tool: { name: 'hsm-bench', version: TOOL_VERSION },
      command: 'scale',
      runId,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      interrupted: interruption.requested,
      host: {
        hostname: hostname(),
        platform: process.platform,
        arch: process.arch,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        cpuCount: cpus().length,
        totalMemoryMb: Math.round(totalmem() / 2 ** 20),
        nodeVersion: process.version,
      },
      harness: { concurrency: 'one worker thread per token and thread, synchronous pkcs11js calls', peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) },
      backend: embedded ? { kind: 'embedded-softhsm2', workspace: embedded.workspace } : { kind: 'module' },
      module: mod.info,
      tokens: tokens.map(identity),
      algorithm: {
        id: plan.algorithm.id,
        displayName: plan.algorithm.displayName,
        family: plan.algorithm.family,
        bits: plan.algorithm.bits,
        curve: plan.algorithm.family === 'ec' ? plan.algorithm.curve : null,
      },
      mechanism: { name: mechanism.name, hostDigest: mechanism.hostDigest },
      keyLabel: plan.keyLabel,
      plan: {
        tokenCounts: plan.tokenCounts,
        signaturesPerToken: plan.stop.kind === 'signatures' ? plan.stop.perToken : null,
        durationS: plan.stop.kind === 'duration' ? plan.stop.durationMs / 1000 : null,
        warmupSignaturesPerToken: plan.warmupPerToken,
        threadsPerToken: plan.threadsPerToken,
        verify: plan.verify,
      },
      configurations: withEfficiency(configurations),
    });

    for (const tokenCount of plan.tokenCounts) {
      if (interruption.requested) break;
      const control = new RunControl(tokenCount * plan.threadsPerToken);
      interruption.watch(control);
      const target = plan.stop.kind === 'signatures' ? ` / ${plan.stop.perToken * tokenCount}` : '';
      const label = `${tokenCount} token${tokenCount > 1 ? 's' : ''}`;
      ui.log(`${label}: signing`);
      const run = await runConfiguration(plan, modulePath, mechanism, ready, tokenCount, dir, control, (done) => ui.progress(`${label}: ${done}${target} signatures`));
      ui.progressDone();
      configurations.push(summarizeConfiguration(run, tokens.slice(0, tokenCount), plan.threadsPerToken));
      const c = configurations[configurations.length - 1]!;
      ui.log(`${label}: ${c.signaturesOk} signatures OK, ${c.signaturesFailed} failed, ${c.throughputPerS.toFixed(1)}/s`);
      // Written after every configuration, so that a later failure or interruption loses nothing measured.
      writeRunJson(dir, result());
    }
    const final = result();
    writeRunJson(dir, final);
    return { result: final, dir };
  } finally {
    interruption.dispose();
    for (const session of loginSessions) mod.lib.C_CloseSession(session);
    mod.close();
  }
}
