import type { FieldNames, PlanField, PlanInput } from '../model/plan-input.js';
import { usageError } from '../core/errors.js';
import { quote } from '../core/quote.js';
import { rateProblem } from './sizing-plan.js';

/**
 * The flags of a plan: each field of a plan input with the commander option that gives it and how the option's
 * text becomes the field's value. Only the form is read here (a number, a list); src/plan/plan.ts judges the values.
 * Keyed by every field, so a field added to PlanInput does not compile until it has its flag: a burn-in's resume,
 * which refuses every flag of this table, then refuses it too.
 */
type Read = (text: string, flag: string) => unknown;

const text: Read = (v) => v;
const whole: Read = (v, flag) => {
  if (!/^\s*\d{1,15}\s*$/.test(v)) throw usageError(`${flag} must be a whole number, not ${quote(v)}`, `for example ${flag} 4`);
  return Number(v);
};
const wholes: Read = (v, flag) => v.split(',').map((part) => whole(part, flag));
const rates: Read = (v, flag) =>
  v.split(',').map((part) => {
    const t = part.trim();
    if (!/^\d{1,7}(\.\d{1,3})?$/.test(t)) throw rateProblem(flag, t);
    return Number(t);
  });
const names: Read = (v) => v.split(',').map((part) => part.trim());
/** A field's commander option and its reader. */
const flag = (option: string, read: Read) => ({ option, read });

export const PLAN_FLAGS: Record<PlanField, { option: string; read: Read }> = {
  op: flag('op', text),
  mix: flag('mix', text),
  alg: flag('alg', text),
  mechanism: flag('mechanism', text),
  mechanismParams: flag('mechanismParams', text),
  keyLabel: flag('keyLabel', text),
  keyId: flag('keyId', text),
  tokens: flag('tokens', wholes),
  signaturesPerToken: flag('signaturesPerToken', whole),
  signatures: flag('signatures', whole),
  duration: flag('duration', text),
  repeat: flag('repeat', whole),
  warmup: flag('warmup', whole),
  threadsPerToken: flag('threadsPerToken', wholes),
  rate: flag('rate', rates),
  ratePerToken: flag('ratePerToken', rates),
  maxWindow: flag('maxWindow', text),
  'slo.p50': flag('sloP50', text),
  'slo.p90': flag('sloP90', text),
  'slo.p99': flag('sloP99', text),
  'slo.p999': flag('sloP999', text),
  verify: flag('verify', text),
  verifyThreads: flag('verifyThreads', whole),
  callTimeout: flag('callTimeout', text),
  records: flag('records', text),
  module: flag('module', text),
  workspace: flag('workspace', text),
  slots: flag('slots', wholes),
  serials: flag('serials', names),
  tokenLabel: flag('tokenLabel', text),
  tokenUri: flag('tokenUri', text),
  allTokens: flag('allTokens', text),
  out: flag('out', text),
  giveUpAfter: flag('giveUpAfter', text),
  sessionPerCall: flag('sessionPerCall', text),
  findKeyPerCall: flag('findKeyPerCall', text),
  calibrate: flag('calibrate', text),
  startAt: flag('startAt', text),
  settle: flag('settle', text),
  dataSize: flag('dataSize', text),
  multipart: flag('multipart', text),
};

export const PLAN_FIELDS = Object.keys(PLAN_FLAGS) as PlanField[];

/** The keys of a plan input (an objective's fields are under slo). */
export const PLAN_INPUT_KEYS: ReadonlySet<string> = new Set(PLAN_FIELDS.map((f) => f.split('.')[0]!));

/** What scale and a lab file's run take where a field is not given, as flag text (a burn-in warms up 0 by default). */
export const SCALE_DEFAULTS = { tokens: '1,2,4,8', warmup: '10', threadsPerToken: '1', verify: 'all', out: 'reports' } as const;

/** --threads-per-token for threadsPerToken: how the command line names a field. */
export const flagOf: FieldNames = (field) => flagOfOption(PLAN_FLAGS[field].option);

/** A commander option's flag: acceptLostRecords is --accept-lost-records. */
export const flagOfOption = (option: string) => `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * The plan input of parsed command-line options (commander's, its defaults included). A flag not given leaves its
 * field out; the command's defaults fill tokens, warmup, threadsPerToken, verify, workspace and out.
 */
export function planInputFromFlags(options: object): PlanInput {
  const input: Record<string, unknown> = {};
  const slo: Record<string, string> = {};
  for (const field of PLAN_FIELDS) {
    const value = (options as Record<string, unknown>)[PLAN_FLAGS[field].option];
    if (value === undefined) continue;
    const read = typeof value === 'string' ? PLAN_FLAGS[field].read(value, flagOf(field)) : value;
    if (field.startsWith('slo.')) slo[field.slice(4)] = read as string;
    else input[field] = read;
  }
  if (Object.keys(slo).length > 0) input.slo = slo;
  return input as unknown as PlanInput;
}

/** Each plan field by its flag, and what a `--no-x` flag (as --no-calibrate) sets: x to false. */
const FIELD_OF_FLAG = new Map<string, { field: PlanField; off: boolean }>(
  PLAN_FIELDS.flatMap((field) => [[flagOf(field), { field, off: false }] as const, [flagOf(field).replace(/^--/, '--no-'), { field, off: true }] as const]),
);

/** Programs whose command lines a message may give to type (the hints name OpenSC's and SoftHSM2's tools). */
const COMMANDS = ['hsm-bench', 'pkcs11-tool', 'softhsm2-util', 'p11tool', 'sc-hsm-tool', 'openssl'];

/**
 * What a message keeps as written: a command line to type (up to the clause's end), and quoted text — a quote that
 * opens after a letter is an apostrophe (the token's), not a quote.
 */
const KEPT = new RegExp(`((?:${COMMANDS.join('|')}) [^;,)'\`]*|(?<![A-Za-z])'[^']*'|\`[^\`]*\`)`);

/**
 * A message about a plan, written with the command line's flags, in the terms of another source: each flag of a plan
 * field named as `names` names it (a lab file: by its JSON path, $.runs[2].tokens; a --no-x flag as x false). A
 * command the message suggests (`hsm-bench list --keys`, pkcs11-tool --module M -L, quoted or not) keeps its flags: it
 * is typed as it stands.
 */
export function inTermsOf(text: string, names: FieldNames): string {
  return text
    .split(KEPT)
    .map((part, i) => {
      if (i % 2 === 1) return part;
      return part.replace(/--[a-z0-9][a-z0-9-]*/g, (flag) => {
        const known = FIELD_OF_FLAG.get(flag);
        return known === undefined ? flag : `${names(known.field)}${known.off ? ' false' : ''}`;
      });
    })
    .join('');
}
