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
