import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupError } from '../core/errors.js';

/**
 * Cloning keys the SmartCard-HSM way, through OpenSC's tools: every token of the cluster holds the same DKEK
 * (imported from the same shares when it was initialised); `sc-hsm-tool --wrap-key` exports a key from one
 * token encrypted under the DKEK, and `--unwrap-key` imports it into another. The key never exists in the clear
 * outside a token. The PIN reaches the tools through their environment (`--pin env:NAME`), never their argv.
 */
const PIN_VARIABLE = 'HSM_BENCH_SC_HSM_PIN';

function tool(command: string, args: string[], pin?: string): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', env: { ...process.env, ...(pin === undefined ? {} : { [PIN_VARIABLE]: pin }) }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    if (e.code === 'ENOENT') throw setupError(`OpenSC's ${command} is not installed`, "install OpenSC's tools (Debian: apt-get install opensc)", error);
    const said = `${e.stderr ?? ''}${e.stdout ?? ''}`.trim().split('\n').filter(Boolean).pop() ?? e.message;
    throw setupError(`${command} ${args.find((a) => a.startsWith('--')) ?? ''} failed: ${said}`, 'see the message of the tool; the tokens are unchanged unless it says otherwise', error);
  }
}

/** The PC/SC reader number OpenSC's tools know a slot by (its slot description is the reader's name). */
export function readerOf(slotDescription: string): number | undefined {
  for (const line of tool('opensc-tool', ['--list-readers']).split('\n')) {
    const match = /^(\d+)\s+(?:Yes|No)\s+(.*)$/.exec(line.trim());
    if (match && match[2]!.trim().endsWith(slotDescription)) return Number(match[1]);
  }
  return undefined;
}

/** The number of DKEK shares of a SmartCard-HSM, or undefined when the card in the reader is not one. */
export function dkekShares(reader: number): number | undefined {
  let status: string;
  try {
    status = tool('sc-hsm-tool', ['--reader', String(reader)]);
  } catch {
    return undefined;
  }
  const shares = /DKEK shares\s*:\s*(\d+)/.exec(status)?.[1] ?? (/No DKEK shares/.test(status) ? '0' : undefined);
  return shares === undefined ? undefined : Number(shares);
}

/** Private keys of the card by CKA_ID (hex) with their key reference (the card's slot for the key). */
function keyReferences(reader: number): Map<string, number> {
  const refs = new Map<string, number>();
  for (const block of tool('pkcs15-tool', ['--reader', String(reader), '--list-keys']).split(/\n(?=Private )/)) {
    const ref = /Key ref\s*:\s*(\d+)/.exec(block)?.[1];
    const id = /\n\s*ID\s*:\s*([0-9a-fA-F]+)/.exec(block)?.[1];
    if (block.startsWith('Private') && ref !== undefined && id !== undefined) refs.set(id.toLowerCase(), Number(ref));
  }
  return refs;
}

/** Wraps the key `keyIdHex` on the source card under the DKEK and unwraps it into a free key reference of each target. */
export function cloneWithDkek(source: { reader: number; name: string }, keyIdHex: string, targets: { reader: number; name: string }[], pin: string, log: (line: string) => void): void {
  const ref = keyReferences(source.reader).get(keyIdHex.toLowerCase());
  if (ref === undefined) throw setupError(`OpenSC lists no private key with id ${keyIdHex} on token ${source.name}`, "see 'pkcs15-tool --list-keys'");
  const dir = mkdtempSync(join(tmpdir(), 'hsm-bench-dkek-'));
  try {
    // DKEK-encrypted: the file holds no key material in the clear, and it is deleted when the clone is done.
    const wrapped = join(dir, 'key.wrapped');
    tool('sc-hsm-tool', ['--reader', String(source.reader), '--wrap-key', wrapped, '--key-reference', String(ref), '--pin', `env:${PIN_VARIABLE}`], pin);
    for (const t of targets) {
      const used = new Set(keyReferences(t.reader).values());
      let free = 1;
      while (used.has(free)) free++;
      tool('sc-hsm-tool', ['--reader', String(t.reader), '--unwrap-key', wrapped, '--key-reference', String(free), '--pin', `env:${PIN_VARIABLE}`], pin);
      log(`token ${t.name}: unwrapped the key under the DKEK into key reference ${free}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
