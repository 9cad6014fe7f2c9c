import { algorithmById } from '../model/algorithms.js';
import { decrypt } from './decrypt.js';
import { derive } from './derive.js';
import { digest } from './digest.js';
import { encrypt } from './encrypt.js';
import { keygen } from './keygen.js';
import { mac } from './mac.js';
import type { OperationKind } from './operation-kind.js';
import { random } from './random.js';
import { sign } from './sign.js';
import { verify } from './verify.js';
import { usageError } from '../core/errors.js';
import { quote } from '../core/quote.js';

/** Every operation hsm-bench measures, by --op name. */
export const OPERATIONS: readonly OperationKind[] = [sign, verify, decrypt, encrypt, mac, derive, keygen, digest, random];

export function operationByName(name: string): OperationKind {
  const found = OPERATIONS.find((o) => o.name === name);
  if (!found) throw usageError(`unknown operation ${quote(name)}`, `use one of: ${OPERATIONS.map((o) => o.name).join(', ')}`);
  return found;
}

/** --mechanism's values per operation (and algorithm family, where they differ), as --help shows them. */
export function mechanismHelp(): string {
  return OPERATIONS.flatMap((op) => {
    const byFamily = new Map<string, readonly string[]>();
    for (const id of op.algorithms) {
      const alg = algorithmById(id);
      byFamily.set(alg.family, op.mechanismChoices(alg));
    }
    const families = [...byFamily].filter(([, choices]) => choices.length > 0);
    // An operation with one mechanism only offers no choice.
    if (families.every(([, choices]) => choices.length < 2)) return [];
    return [`${op.name}: ${families.map(([family, choices]) => `${choices.join('|')}${families.length > 1 ? ` (${family.toUpperCase()})` : ''}`).join(', ')}`];
  }).join('; ');
}
