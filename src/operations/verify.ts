import { randomBytes } from 'node:crypto';
import pkcs11 from 'pkcs11js';
import { OUTPUT_BUFFER_BYTES, rowOf } from '../model/workload.js';
import { toPkcs11Mechanism } from '../pkcs11/timed-call.js';
import { setupError } from '../core/errors.js';
import type { OperationKind } from './operation-kind.js';
import { sign, signatureBytes, signInput, signMechanism, signMechanismOf } from './sign.js';

/** Inputs per token: signatures the token made before the run over fresh messages; every 8th is spoiled. */
const ROWS = 64;
const SPOILED_EVERY = 8;

/**
 * C_Verify with the token's public key over signatures the token made before the run. A share of them is spoiled
 * on purpose: the token must reject those and accept the others; either wrong answer is a failure.
 */
export const verify: OperationKind = {
  name: 'verify',
  call: 'verify',
  checked: 'checked on the host against the answer expected of each signature (1 in 8 spoiled on purpose)',
  noun: 'verification',
  nouns: 'verifications',
  title: (alg) => `${alg.displayName} verification`,
  algorithms: sign.algorithms,
  mechanismChoices: sign.mechanismChoices,
  keyUsage: () => 'sign',
  // The answer byte the loop makes of C_Verify's return code.
  outputBytes: () => [1],
  prepare(ctx) {
    const mechanism = signMechanismOf(ctx);
    const expected: boolean[][] = [];
    const tables = ctx.tokens.map((t) => {
      const rows: Uint8Array[] = [];
      const aux: Uint8Array[] = [];
      const valid: boolean[] = [];
      for (let i = 0; i < ROWS; i++) {
        const data = signInput(mechanism, randomBytes(32));
        ctx.lib.C_SignInit(t.session, toPkcs11Mechanism(signMechanism(mechanism)), t.keyPair!.privateKey);
        const signature = Buffer.from(ctx.lib.C_Sign(t.session, data, Buffer.alloc(OUTPUT_BUFFER_BYTES)));
        if (signature.length !== signatureBytes(ctx.algorithm)) {
          throw setupError(
            `token ${t.name} made a ${signature.length}-byte signature with ${mechanism.name}; a ${ctx.algorithm.displayName} signature has ${signatureBytes(ctx.algorithm)} bytes`,
            'the token or its module is faulty; hsm-bench does not measure wrong answers',
          );
        }
        const spoiled = i % SPOILED_EVERY === SPOILED_EVERY - 1;
        if (spoiled) signature[signature.length >> 1]! ^= 0x01;
        rows.push(data);
        aux.push(signature);
        valid.push(!spoiled);
      }
      expected.push(valid);
      return { rows, aux };
    });
    return {
      timed: {
        name: 'verify',
        call: 'verify',
        mechanism: signMechanism(mechanism),
        input: 'table',
        key: { kind: 'token-object', cls: pkcs11.CKO_PUBLIC_KEY, label: ctx.keyLabel },
        outputBytes: verify.outputBytes(ctx.algorithm, mechanism.name),
      },
      tables,
      check: expected,
      hostPreparation: `${mechanism.hostDigest === 'none' ? '' : `${mechanism.hostDigest} on the host; `}${ROWS} signatures per token made before the run, 1 in ${SPOILED_EVERY} spoiled`,
    };
  },
  check(data, token, _seed, sequence, output) {
    const expected = (data as boolean[][])[token]!;
    return output.length === 1 && (output[0] === 1) === expected[rowOf(sequence, expected.length)];
  },
};
