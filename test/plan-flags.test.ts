import { describe, expect, it } from 'vitest';
import { inTermsOf } from '../src/plan/plan-flags.js';

const lab = (field: string) => `$.runs[2].${field}`;

describe('inTermsOf: a message about a plan in a lab file’s terms', () => {
  it('names each plan field’s flag by its JSON path, an objective’s and a turned-off flag’s too', () => {
    expect(inTermsOf('lower --tokens, or give --threads-per-token 1,2 and --slo-p99 50ms; --no-calibrate skips it', lab)).toBe(
      'lower $.runs[2].tokens, or give $.runs[2].threadsPerToken 1,2 and $.runs[2].slo.p99 50ms; $.runs[2].calibrate false skips it',
    );
  });

  it('leaves flags that are no plan field, and commands the message tells the reader to type, as they are', () => {
    expect(inTermsOf("see 'hsm-bench list --keys' or `hsm-bench keys create --token-label T`; --junit stays", lab)).toBe(
      "see 'hsm-bench list --keys' or `hsm-bench keys create --token-label T`; --junit stays",
    );
    expect(inTermsOf('name it with --key-label (hsm-bench list --keys shows key pairs)', lab)).toBe('name it with $.runs[2].keyLabel (hsm-bench list --keys shows key pairs)');
    // Other programs' command lines too (a set-up timeout's hint names OpenSC's tool).
    expect(inTermsOf('try it with its vendor tool (e.g. pkcs11-tool --module MODULE -L); or give --call-timeout', lab)).toBe(
      'try it with its vendor tool (e.g. pkcs11-tool --module MODULE -L); or give $.runs[2].callTimeout',
    );
  });

  it('takes an apostrophe for no quote: flags between two possessives are renamed', () => {
    expect(inTermsOf("the token's slot is busy: lower --tokens or give the module's other slots", lab)).toBe("the token's slot is busy: lower $.runs[2].tokens or give the module's other slots");
  });
});
