import type { KeyObject } from 'node:crypto';
import { hostInput, type OperationMechanism, type TimedOperation } from '../model/workload.js';
import { dataFor } from '../model/message.js';
import { isKeyPairFamily, type Algorithm } from '../model/algorithms.js';
import { chooseSignMechanism, MECHANISM_CHOICES, PSS_SALT_BYTES, type MechanismChoice, type SignMechanism } from '../pkcs11/mechanisms.js';
import { verifySignature } from './verifier.js';
import { privateKeyOf, type OperationKind, type PrepareContext } from './operation-kind.js';

interface SignCheck {
  publicKeys: KeyObject[];
  mechanism: SignMechanism;
}

export const signMechanism = (m: SignMechanism): OperationMechanism => ({ name: m.name, ckm: m.ckm, parameter: m.pss ? { kind: 'pss', saltBytes: PSS_SALT_BYTES } : undefined });

/** The size of a signature by a key of `alg`: an RSA modulus, an ECDSA r‖s of two field elements, or EdDSA's R‖S of two encoded points. */
export const signatureBytes = (alg: Pick<Algorithm, 'family' | 'bits'>) => (alg.family === 'rsa' ? alg.bits / 8 : 2 * Math.ceil(alg.bits / 8));

/** The signing mechanism every token offers for --mechanism (its first choice by default): for sign and verify. */
export const signMechanismOf = (ctx: PrepareContext) =>
  chooseSignMechanism(
    (ctx.mechanismChoice ?? sign.mechanismChoices(ctx.algorithm)[0]) as MechanismChoice,
    ctx.tokens.map((t) => ({ name: t.name, mechanisms: t.mechanisms })),
  );

/** The founding operation: C_Sign over a fresh message per call, every kept signature verified on the host. */
export const sign: OperationKind = {
  name: 'sign',
  call: 'sign',
  checked: "verified on the host against each token's public key",
  noun: 'signature',
  nouns: 'signatures',
  title: (alg) => alg.displayName,
  algorithms: ['rsa2048', 'rsa3072', 'rsa4096', 'p256', 'p384', 'bp256', 'bp384', 'ed25519', 'ed448'],
  mechanismChoices: (alg) => (isKeyPairFamily(alg.family) ? MECHANISM_CHOICES[alg.family] : []),
  keyUsage: () => 'sign',
  outputBytes: (alg) => [signatureBytes(alg)],
  // Where the token hashes (the combined mechanism): src/operations/payload.ts refuses a hash made on the host.
  dataSizeProblem: () => undefined,
  prepare(ctx) {
    const mechanism = signMechanismOf(ctx);
    const timed: TimedOperation = {
      name: 'sign',
      call: 'sign',
      mechanism: signMechanism(mechanism),
      input: mechanism.hostDigest === 'none' ? 'message' : mechanism.hostDigest,
      key: privateKeyOf(ctx.keyLabel),
      outputBytes: sign.outputBytes(ctx.algorithm, mechanism.name),
    };
    const check: SignCheck = { publicKeys: ctx.tokens.map((t) => t.keyPair!.publicKey), mechanism };
    return { timed, tables: ctx.tokens.map(() => null), check, hostPreparation: mechanism.hostDigest };
  },
  check(data, token, seed, sequence, output, dataBytes) {
    const c = data as SignCheck;
    return verifySignature(c.publicKeys[token]!, c.mechanism, dataFor(seed, sequence, dataBytes), output);
  },
};

/** The bytes handed to C_Sign for a message (also used where a key is proven by signing once). */
export const signInput = (m: SignMechanism, message: Buffer) => hostInput(m.hostDigest === 'none' ? 'message' : m.hostDigest, message);
