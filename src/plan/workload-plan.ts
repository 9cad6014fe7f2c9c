import { WorkloadEntry } from '../model/plan.js';
import type { FieldNames, PlanInput } from '../model/plan-input.js';
import { flagOf } from './plan-flags.js';
import { ExitCode, HsmBenchError, usageError } from '../core/errors.js';
import { operationByName } from '../operations/registry.js';
import { algorithmById, anyKeyAlgorithm } from '../model/algorithms.js';
import type { OperationKind } from '../operations/operation-kind.js';
import { AS_GIVEN_CALLS } from '../operations/as-given.js';
import { mechanismCode, mechanismNames, nearestMechanismNames, PKCS11_3_2 } from '../pkcs11/mechanisms.js';
import { readInputFile } from '../core/input-file.js';
import { defaultKeyLabel } from '../pkcs11/keys.js';
import { isSecret, quote, shown } from '../core/quote.js';
import { NATIVE } from '../core/native-abi.js';

/** More operations than this in one mix is a typo, not a workload. */
export const MAX_MIX_ENTRIES = NATIVE.maxOperations;

/** An operation or algorithm by its name, an unknown one said at the field that named it. */
function known<T>(field: string, find: () => T): T {
  try {
    return find();
  } catch (error) {
    if (error instanceof HsmBenchError) throw usageError(`${field}: ${error.message}`, error.hint);
    throw error;
  }
}

/** --op (and --alg, --mechanism, --key-label) as the one entry of a workload. */
export function singleOperation(o: Pick<PlanInput, 'op' | 'alg' | 'mechanism' | 'mechanismParams' | 'keyLabel' | 'keyId'>, name: FieldNames = flagOf): WorkloadEntry {
  const op = known(name('op'), () => operationByName(o.op ?? 'sign'));
  if (op.call === 'derive' && o.mechanismParams !== undefined) {
    throw usageError(
      `${name('mechanismParams')} does not go with derive: ECDH's parameter (CK_ECDH1_DERIVE_PARAMS) holds a pointer to the peer's public point, and a pointer cannot be given in a file`,
      `name the ECDH mechanism alone (${name('mechanism')} CKM_ECDH1_DERIVE or CKM_ECDH1_COFACTOR_DERIVE, by name or number): hsm-bench builds its parameter with a host key pair's point per call and checks every secret on the host`,
    );
  }
  const given = o.mechanism === undefined ? undefined : mechanismGiven(o.mechanism, name('mechanism'));
  // A mechanism the operation makes itself, given by name or number, is measured and checked as its own word.
  const own = given === undefined ? undefined : op.mechanismOfCode?.(given.ckm);
  if (given !== undefined && own === undefined) return asGivenOperation(op, given, o, name);
  const mechanism = own ?? o.mechanism;
  if (o.keyId !== undefined) {
    throw usageError(`${name('keyId')} goes with ${name('mechanism')} given by PKCS#11 name or number`, `hsm-bench finds the key pairs of its own mechanisms by ${name('keyLabel')}`);
  }
  if (o.mechanismParams !== undefined) {
    throw usageError(
      `${name('mechanismParams')} goes with ${name('mechanism')} given by PKCS#11 name or number`,
      `hsm-bench makes the parameters of its own mechanisms itself; for raw parameters name the mechanism: ${name('mechanism')} CKM_SHA256_RSA_PKCS_PSS`,
    );
  }
  const algorithm = known(name('alg'), () => algorithmById(o.alg ?? op.algorithms[0]!));
  if (!op.algorithms.includes(algorithm.id)) throw usageError(`${name('op')} ${op.name} does not take ${name('alg')} ${algorithm.id}`, `use one of: ${op.algorithms.join(', ')}`);
  const mechanisms = op.mechanismChoices(algorithm);
  if (mechanism !== undefined && !mechanisms.includes(mechanism)) {
    throw usageError(
      `${name('mechanism')} ${quote(o.mechanism!)} does not apply to ${op.name === 'sign' ? algorithm.displayName : `${op.name} with ${algorithm.displayName}`}`,
      `use one of: ${[...mechanisms, 'or a PKCS#11 mechanism by CKM_ name or number (outputs then not checked on the host)'].join(', ')}`,
    );
  }
  return { operation: op.name, algorithm, mechanismChoice: mechanism ?? mechanisms[0]!, keyLabel: o.keyLabel ?? defaultKeyLabel(algorithm, op.keyUsage?.(algorithm)), weight: 1 };
}

/** A mechanism parameter is a structure of a few hundred bytes at most; more is the wrong file. */
const MECHANISM_PARAMS_FILE = {
  what: 'mechanism parameter file',
  maxBytes: 65_536,
  exitCode: ExitCode.usage,
  hint: 'give a file of the raw bytes of the parameter structure, as the module takes it in pParameter',
};

/** --mechanism by PKCS#11 name (CKM_ML_DSA) or number (0x1d, 29, a vendor's 0x80000001); undefined where it is neither. */
function mechanismGiven(text: string, field: string): { name: string; ckm: number } | undefined {
  const t = text.trim();
  if (/^(0x[0-9a-f]+|\d+)$/i.test(t)) {
    const ckm = Number(t);
    if (ckm > 0xffffffff) throw usageError(`${field} ${quote(text)} is not a PKCS#11 mechanism number`, 'a CK_MECHANISM_TYPE fits in 32 bits: 0 to 0xffffffff');
    return { name: mechanismNames([ckm])[0]!, ckm };
  }
  if (!/^CKM_/i.test(t)) return undefined;
  const ckm = mechanismCode(t);
  if (ckm === undefined) {
    throw usageError(
      `${field} ${quote(text)} is not a PKCS#11 mechanism hsm-bench knows by name`,
      `did you mean ${nearestMechanismNames(t).join(', ')}? A vendor's mechanism goes by its number: ${field} 0x80000001`,
    );
  }
  return { name: t.toUpperCase(), ckm };
}

/**
 * ML-KEM's mechanisms: their calls, C_EncapsulateKey and C_DecapsulateKey, are PKCS#11 3.2's, and pkcs11js 2.1 (built on
 * the 2.40 headers, no C_GetInterface) has neither, so no call hsm-bench makes can use them.
 */
const ML_KEM: readonly number[] = [PKCS11_3_2.CKM_ML_KEM, PKCS11_3_2.CKM_ML_KEM_KEY_PAIR_GEN];

/** The one entry of a workload by a mechanism as given: the key --key-label names, whatever its type; no --alg. */
function asGivenOperation(op: OperationKind, given: { name: string; ckm: number }, o: Pick<PlanInput, 'op' | 'alg' | 'mechanismParams' | 'keyLabel' | 'keyId'>, name: FieldNames): WorkloadEntry {
  const by = `${name('mechanism')} ${given.name}`;
  if (ML_KEM.includes(given.ckm)) {
    throw usageError(
      `${by} cannot be measured: ML-KEM is used through C_EncapsulateKey and C_DecapsulateKey (PKCS#11 3.2), which pkcs11js 2.1, the PKCS#11 binding hsm-bench calls through, does not have`,
      `measure another mechanism by name or number (ML-DSA signs: ${name('mechanism')} CKM_ML_DSA ${name('keyLabel')} my-ml-dsa-key)`,
    );
  }
  // By the operation's name: mac makes C_Sign too, but a MAC is not what a mechanism as given measures as a signature.
  if (!(AS_GIVEN_CALLS as readonly string[]).includes(op.name)) {
    throw usageError(`${by}: a mechanism by PKCS#11 name or number goes with ${AS_GIVEN_CALLS.join(', ')}, not ${op.name}`, `choose one of them with ${name('op')}`);
  }
  if (o.alg !== undefined) {
    const words = op.algorithms.includes(o.alg) ? op.mechanismChoices(algorithmById(o.alg)) : [];
    throw usageError(
      `${name('alg')} does not go with ${by}: the key is the one ${name('keyLabel')} or ${name('keyId')} names, whatever its type, and its outputs are not checked on the host`,
      `drop ${name('alg')}${words.length > 0 ? `, or for a run checked on the host name the mechanism as hsm-bench does: ${name('mechanism')} ${words.join('|')}` : ''}`,
    );
  }
  if (o.keyLabel === undefined && o.keyId === undefined) {
    throw usageError(
      `${by} needs ${name('keyLabel')} or ${name('keyId')}: which key of the token?`,
      `give the key's label or its CKA_ID in hex, e.g. ${name('keyLabel')} my-ml-dsa-key or ${name('keyId')} 0a0b`,
    );
  }
  const keyId = o.keyId === undefined ? null : hexBytes(o.keyId, name('keyId'));
  let parameter: Uint8Array | null = null;
  if (o.mechanismParams !== undefined) {
    parameter = readInputFile(o.mechanismParams, MECHANISM_PARAMS_FILE);
    if (parameter.length === 0) {
      throw usageError(`the mechanism parameter file ${shown(o.mechanismParams)} is empty`, `for a mechanism without a parameter leave ${name('mechanismParams')} out`);
    }
    // Its bytes go to the module and into run.json (parameterHex): a file that holds a PIN (the PIN file, given
    // here by mistake) must not.
    if (isSecret(Buffer.from(parameter).toString('utf8').trim())) {
      throw usageError(
        `the mechanism parameter file ${shown(o.mechanismParams)} holds a PIN or passphrase of this run: its bytes would go to the module and into run.json`,
        `give ${name('mechanismParams')} the file of the mechanism's parameter`,
      );
    }
  }
  return { operation: op.name, algorithm: anyKeyAlgorithm(given.name), mechanismChoice: given.name, keyLabel: o.keyLabel ?? '', weight: 1, asGiven: { ...given, parameter, keyId } };
}

/** --key-id: a CKA_ID in hex (0a0b, or 0x0a0b), as pkcs11-tool --id takes it. */
function hexBytes(text: string, field: string): Uint8Array {
  const hex = text.trim().replace(/^0x/i, '');
  if (!/^([0-9a-f]{2})+$/i.test(hex)) throw usageError(`${field} ${quote(text)} is not a CKA_ID in hex`, `give its bytes as hex digits, two per byte, e.g. ${field} 0a0b`);
  return Buffer.from(hex, 'hex');
}

/**
 * --mix OP[/ALG][:WEIGHT],…: each entry an operation, its algorithm (else --alg where the operation takes it, else
 * its own default) and its weight (default 1). Each uses its default mechanism and the default key label of its
 * algorithm and usage (hsm-bench-rsa2048, hsm-bench-rsa2048-decrypt…), as `keys create --usage` makes them.
 */
export function parseMix(value: string, alg: string | undefined, name: FieldNames = flagOf): WorkloadEntry[] {
  const mix = name('mix');
  const hint = 'for example sign:80,decrypt:20 (with the algorithm rsa2048), or sign/p256:9,derive/p256:1';
  const entries = value.split(',').map((part) => {
    const m = /^\s*([a-z]+)(?:\/([a-z0-9-]+))?(?::(\d{1,7}))?\s*$/.exec(part);
    if (!m) throw usageError(`${mix} entry ${quote(part)} is not OP[/ALG][:WEIGHT]`, hint);
    const op = known(mix, () => operationByName(m[1]!));
    const chosen = m[2] ?? (alg !== undefined && op.algorithms.includes(alg) ? alg : op.algorithms[0]!);
    const entry = singleOperation({ op: op.name, alg: chosen }, name);
    const weight = m[3] === undefined ? 1 : Number(m[3]);
    if (weight < 1) throw usageError(`${mix} entry ${quote(part.trim())} has weight 0`, 'weights are whole numbers from 1; leave the operation out instead');
    return { ...entry, weight };
  });
  if (entries.length < 2) throw usageError(`${mix} needs at least two operations`, `for one operation use ${name('op')}; ${hint}`);
  if (entries.length > MAX_MIX_ENTRIES) throw usageError(`${mix} has ${entries.length} operations; hsm-bench mixes at most ${MAX_MIX_ENTRIES}`);
  // One entry per operation: results, records and reports are kept per operation.
  const names = entries.map((e) => e.operation);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw usageError(`${mix} names ${twice} twice`, 'give each operation once, with its whole weight; measure another algorithm in a run of its own');
  if (alg !== undefined && !entries.some((e) => e.algorithm.id === alg)) {
    throw usageError(`${name('alg')} ${quote(alg)} fits no operation of the mix`, `give ${name('alg')} an algorithm one of them takes, or give each its own: sign/p256:9,derive/p256:1`);
  }
  return entries;
}

/** What a plan measures, as workloadOf (src/operations/words.ts) says it of a run: sign/rsa2048, or mix sign/rsa2048:80,… */
export const workloadOfPlan = (entries: readonly WorkloadEntry[]) =>
  entries.length > 1 ? `mix ${entries.map((e) => `${e.operation}/${e.algorithm.id}:${e.weight}`).join(',')}` : `${entries[0]!.operation}/${entries[0]!.algorithm.id}`;
