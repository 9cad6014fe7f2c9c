import { hash } from 'node:crypto';
import pkcs11 from 'pkcs11js';
import { dataFor } from '../model/message.js';
import { requireMechanism, type OperationKind } from './operation-kind.js';

/** C_Digest (SHA-256) of a fresh message per call: no key; the host hashes the same message and compares. */
export const digest: OperationKind = {
  name: 'digest',
  call: 'digest',
  checked: 'recomputed on the host',
  noun: 'digest',
  nouns: 'digests',
  title: (alg) => `${alg.displayName} digest`,
  algorithms: ['sha256'],
  mechanismChoices: () => ['sha256'],
  outputBytes: () => [32],
  dataSizeProblem: () => undefined,
  prepare(ctx) {
    const m = requireMechanism('compute SHA-256', [{ name: 'CKM_SHA256', ckm: pkcs11.CKM_SHA256 }], ctx.tokens);
    return {
      timed: { name: 'digest', call: 'digest', mechanism: m, input: 'message', key: { kind: 'none' }, outputBytes: digest.outputBytes(ctx.algorithm, m.name) },
      tables: ctx.tokens.map(() => null),
      check: null,
      hostPreparation: 'none',
    };
  },
  check(_data, _token, seed, sequence, output, dataBytes) {
    return hash('sha256', dataFor(seed, sequence, dataBytes), 'buffer').equals(output);
  },
};
