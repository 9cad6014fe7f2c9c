import { createHmac, randomBytes } from 'node:crypto';
import pkcs11 from 'pkcs11js';
import { dataFor } from '../model/message.js';
import { checkTestKeyImport, requireMechanism, sessionSecretKey, type OperationKind } from './operation-kind.js';

/** HMAC-SHA256 (C_Sign with CKM_SHA256_HMAC) with a test key imported into each session; the host recomputes each. */
export const mac: OperationKind = {
  name: 'mac',
  call: 'sign',
  checked: "recomputed on the host with the run's test key",
  noun: 'MAC',
  nouns: 'MACs',
  title: (alg) => alg.displayName,
  algorithms: ['hmac-sha256'],
  mechanismChoices: () => ['hmac'],
  outputBytes: () => [32],
  dataSizeProblem: () => undefined,
  prepare(ctx) {
    const m = requireMechanism('compute HMAC-SHA256', [{ name: 'CKM_SHA256_HMAC', ckm: pkcs11.CKM_SHA256_HMAC }], ctx.tokens);
    const key = randomBytes(32);
    const testKey = sessionSecretKey(pkcs11.CKK_GENERIC_SECRET, key, [pkcs11.CKA_SIGN, pkcs11.CKA_VERIFY]);
    checkTestKeyImport(ctx, testKey, 'a 256-bit HMAC key');
    return {
      timed: {
        name: 'mac',
        call: 'sign',
        mechanism: m,
        input: 'message',
        key: testKey,
        outputBytes: mac.outputBytes(ctx.algorithm, m.name),
      },
      tables: ctx.tokens.map(() => null),
      check: key,
      hostPreparation: 'a 256-bit test key made on the host, imported into each session',
    };
  },
  check(data, _token, seed, sequence, output, dataBytes) {
    return createHmac('sha256', data as Uint8Array)
      .update(dataFor(seed, sequence, dataBytes))
      .digest()
      .equals(output);
  },
};
