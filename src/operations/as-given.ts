import { randomBytes } from 'node:crypto';
import pkcs11 from 'pkcs11js';
import { setupError } from '../core/errors.js';
import { quote, shown } from '../core/quote.js';
import { describe } from '../model/ckr.js';
import type { MechanismAsGiven } from '../model/plan.js';
import { UNCHECKED_OUTPUT_BUFFER_BYTES, type InputTable, type OperationMechanism, type TemplateData, type TimedOperation } from '../model/workload.js';
import { findObjects } from '../pkcs11/keys.js';
import { toPkcs11Mechanism } from '../pkcs11/timed-call.js';
import { requireMechanism, type OperationKind, type PrepareContext, type PreparedOperation } from './operation-kind.js';

/** Inputs per token that the token makes itself before the run (verify: signatures; decrypt: ciphertexts). */
const ROWS = 64;
const PLAINTEXT_BYTES = 32;

/** Why the outputs of a mechanism as given are not checked: run.json's operation.checkSkipped, and every report. */
export const notCheckedWhy = (mechanismName: string) => `${mechanismName} was given by PKCS#11 name or number, and hsm-bench does not know what its outputs should be`;

/** The calls a mechanism as given can make: those whose input hsm-bench can make without knowing the mechanism. */
export const AS_GIVEN_CALLS = ['sign', 'verify', 'encrypt', 'decrypt', 'derive'] as const;
type AsGivenCall = (typeof AS_GIVEN_CALLS)[number];

/** The classes of key a call takes, in the order they are looked for: a key pair's half, else a secret key (an HMAC, a vendor's). */
const PRIVATE_SIDE = [pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_SECRET_KEY];
const PUBLIC_SIDE = [pkcs11.CKO_PUBLIC_KEY, pkcs11.CKO_SECRET_KEY];
const KEY_CLASSES: Record<AsGivenCall, number[]> = { sign: PRIVATE_SIDE, decrypt: PRIVATE_SIDE, derive: PRIVATE_SIDE, verify: PUBLIC_SIDE, encrypt: PUBLIC_SIDE };
const CLASS_NAME = new Map([
  [pkcs11.CKO_PRIVATE_KEY, 'private key'],
  [pkcs11.CKO_PUBLIC_KEY, 'public key'],
  [pkcs11.CKO_SECRET_KEY, 'secret key'],
]);

/** The derived key of a derivation as given: a session secret read back after the clock stops, then destroyed. */
const DERIVED: TemplateData = [
  { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_SECRET_KEY },
  { type: pkcs11.CKA_KEY_TYPE, value: pkcs11.CKK_GENERIC_SECRET },
  { type: pkcs11.CKA_TOKEN, value: false },
  { type: pkcs11.CKA_SENSITIVE, value: false },
  { type: pkcs11.CKA_EXTRACTABLE, value: true },
];

/** The key a user named: by --key-label, --key-id (CKA_ID), or both ('' and null: not by that). */
interface KeyNamed {
  label: string;
  id: Uint8Array | null;
}

/** How messages name the key: "labelled 'k'", "of CKA_ID 0a0b", or both. */
const keyText = (k: KeyNamed) => [k.label === '' ? '' : `labelled ${quote(k.label)}`, k.id === null ? '' : `of CKA_ID ${shown(Buffer.from(k.id).toString('hex'))}`].filter(Boolean).join(' and ');

/** The key named on each token, of the first of `classes` that has one on every token; its CKA_ID per token. */
function findKeys(ctx: PrepareContext, key: KeyNamed, classes: readonly number[], purpose: string): { cls: number; handles: Buffer[]; ids: Buffer[] } {
  const template = (cls: number) => [
    { type: pkcs11.CKA_CLASS, value: cls },
    ...(key.label === '' ? [] : [{ type: pkcs11.CKA_LABEL, value: key.label }]),
    ...(key.id === null ? [] : [{ type: pkcs11.CKA_ID, value: Buffer.from(key.id) }]),
  ];
  const found = classes.map((cls) => ctx.tokens.map((t) => findObjects(ctx.lib, t.session, template(cls))));
  const at = found.findIndex((perToken) => perToken.every((handles) => handles.length > 0));
  if (at < 0) {
    const lacking = ctx.tokens.find((_, i) => found.every((perToken) => perToken[i]!.length === 0)) ?? ctx.tokens[0]!;
    throw setupError(
      `no ${classes.map((c) => CLASS_NAME.get(c)).join(' or ')} ${keyText(key)} on token ${lacking.name} to ${purpose}`,
      'name the key with --key-label or --key-id as the token has it (hsm-bench list --keys shows key pairs)',
    );
  }
  const cls = classes[at]!;
  const twice = ctx.tokens.findIndex((_, i) => found[at]![i]!.length > 1);
  if (twice >= 0) {
    throw setupError(
      `${found[at]![twice]!.length} ${CLASS_NAME.get(cls)}s are ${keyText(key)} on token ${ctx.tokens[twice]!.name}`,
      'name one key: give --key-label and --key-id together, or give each key its own label',
    );
  }
  const handles = found[at]!.map((perToken) => perToken[0]!);
  const ids = handles.map((h, i) => Buffer.from((ctx.lib.C_GetAttributeValue(ctx.tokens[i]!.session, h, [{ type: pkcs11.CKA_ID }])[0]!.value as Buffer | undefined) ?? Buffer.alloc(0)));
  return { cls, handles, ids };
}

/** Inputs the token makes itself with the other half of the key (signatures to verify, ciphertexts to decrypt): exit 3 if it cannot. */
function tokenMadeRows(ctx: PrepareContext, key: KeyNamed, call: 'verify' | 'decrypt', mechanism: OperationMechanism): InputTable[] {
  const maker = call === 'verify' ? 'sign' : 'encrypt';
  const keys = findKeys(ctx, key, KEY_CLASSES[maker], `make the inputs to ${call} (${maker} before the run)`);
  return ctx.tokens.map((t, i) => {
    const messages = Array.from({ length: ROWS }, () => randomBytes(PLAINTEXT_BYTES));
    try {
      const made = messages.map((m) => {
        const out = Buffer.alloc(UNCHECKED_OUTPUT_BUFFER_BYTES);
        if (maker === 'sign') {
          ctx.lib.C_SignInit(t.session, toPkcs11Mechanism(mechanism), keys.handles[i]!);
          return Buffer.from(ctx.lib.C_Sign(t.session, m, out));
        }
        ctx.lib.C_EncryptInit(t.session, toPkcs11Mechanism(mechanism), keys.handles[i]!);
        return Buffer.from(ctx.lib.C_Encrypt(t.session, m, out));
      });
      return call === 'verify' ? { rows: messages, aux: made } : { rows: made };
    } catch (error) {
      throw setupError(
        `token ${t.name} cannot ${maker} with ${mechanism.name} to make the inputs to ${call}: ${describe(error)}`,
        `hsm-bench ${call}s what the token made before the run with the key ${keyText(key)}; check the key's usage and the parameters (--mechanism-params)`,
        error,
      );
    }
  });
}

/**
 * An operation's call with a mechanism as the user gave it (--mechanism CKM_… or a number, --mechanism-params): the
 * mechanism every token must list, the key found by --key-label whatever its type, the input the call takes (a fresh
 * message, or what the token made before the run), outputs of any size of a byte or more, never checked on the host.
 */
export function prepareAsGiven(op: OperationKind, given: MechanismAsGiven, ctx: PrepareContext): { prepared: PreparedOperation; keyIds: Buffer[] } {
  const call = op.call as AsGivenCall;
  requireMechanism(`${op.name} with ${given.name}`, [{ name: given.name, ckm: given.ckm }], ctx.tokens);
  const mechanism: OperationMechanism = { name: given.name, ckm: given.ckm, ...(given.parameter === null ? {} : { parameter: { kind: 'raw', bytes: given.parameter } }) };
  const named: KeyNamed = { label: ctx.keyLabel, id: given.keyId };
  const key = findKeys(ctx, named, KEY_CLASSES[call], call);
  const tables = call === 'verify' || call === 'decrypt' ? tokenMadeRows(ctx, named, call, mechanism) : ctx.tokens.map(() => null);
  const timed: TimedOperation = {
    name: op.name,
    call,
    mechanism,
    input: call === 'sign' || call === 'encrypt' ? 'message' : call === 'derive' ? 'none' : 'table',
    key: { kind: 'token-object', cls: key.cls, label: ctx.keyLabel },
    ...(call === 'derive' ? { templates: { derived: DERIVED } } : {}),
    outputBytes: [],
    unchecked: true,
  };
  const made = call === 'verify' ? `, ${ROWS} signatures per token made by the token before the run` : call === 'decrypt' ? `, ${ROWS} ciphertexts per token made by the token before the run` : '';
  return {
    prepared: {
      timed,
      tables,
      check: null,
      checkSkipped: notCheckedWhy(given.name),
      hostPreparation: `nothing; the ${CLASS_NAME.get(key.cls)} ${keyText(named)} whatever its type, ${given.parameter === null ? 'no parameter' : `a ${given.parameter.length}-byte parameter as given`}${made}`,
    },
    keyIds: key.ids,
  };
}
