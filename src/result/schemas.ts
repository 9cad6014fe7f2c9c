import { readdirSync, readFileSync } from 'node:fs';
import type { Ajv2020, ErrorObject } from 'ajv/dist/2020.js';
import { lazyModule } from '../core/lazy-module.js';
import { packageFile } from '../core/version.js';
import { isSecret, SECRET_SHOWN } from '../core/quote.js';

/** The JSON Schemas of schemas/: every document hsm-bench writes or reads has one. */
export type SchemaName = 'run' | 'checkpoint' | 'lab' | 'list' | 'compare' | 'lab-run' | 'trend';

const ajvModule = lazyModule<typeof import('ajv/dist/2020.js')>('ajv/dist/2020.js');
let ajv: Ajv2020 | undefined;

function validator(name: SchemaName) {
  if (!ajv) {
    ajv = new (ajvModule().Ajv2020)({ allErrors: true, strict: false, verbose: true });
    const dir = packageFile('schemas');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.schema.json'))) ajv.addSchema(JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')));
  }
  return ajv.getSchema(`https://raw.githubusercontent.com/hsm-bench/hsm-bench/main/schemas/${name}.schema.json`)!;
}

/** `/runs/1/thresholds` as `$.runs[1].thresholds`, the path a person reads in a JSON file. */
const jsonPath = (pointer: string) =>
  '$' +
  pointer
    .split('/')
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p.replace(/~1/g, '/').replace(/~0/g, '~')}`))
    .join('');

/** A value as a message shows it: cut short, and not at all where a string in it is a secret (a PIN typed in the file). */
function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  const strings: string[] = [];
  JSON.stringify(v, (_key, x: unknown) => (typeof x === 'string' || typeof x === 'number' ? (strings.push(String(x)), x) : x));
  return strings.some(isSecret) ? SECRET_SHOWN : text.slice(0, 60);
}
/** Where a PIN's source is named: a value there that is not a name may be the PIN itself, and is never shown. */
const PIN_SOURCE = /\.(pinEnv|pinFile)$/;

function describe(e: ErrorObject, doc: unknown): string | undefined {
  const path = jsonPath(e.instancePath);
  const value = e.instancePath
    .split('/')
    .slice(1)
    .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], doc);
  const p = e.params as Record<string, unknown>;
  if (PIN_SOURCE.test(path)) return `${path}: ${e.message ?? 'is not valid'} (a name or a path, not the PIN; the value is not shown)`;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = p.additionalProperty as string;
      if (/^(so)?pin$/i.test(key)) return `${path}.${key}: a PIN is never written here; name where it is with pinEnv or pinFile`;
      const known = Object.keys((e.parentSchema as { properties?: object }).properties ?? {}).filter((k) => k !== '$schema');
      return `${path}.${isSecret(key) ? SECRET_SHOWN : key}: unknown key (known: ${known.join(', ')})`;
    }
    case 'required':
      return `${path}.${p.missingProperty as string}: required`;
    // A pattern says little to a person; the field's description says what is meant.
    case 'pattern':
      return `${path}: must be ${(e.parentSchema as { description?: string }).description ?? `like ${String(p.pattern)}`}, not ${shown(value)}`;
    case 'enum':
      return `${path}: must be one of ${(p.allowedValues as unknown[]).map((v) => String(v)).join(', ')}, not ${shown(value)}`;
    // Which branch of a choice failed is said by the branches' own errors.
    case 'oneOf':
    case 'anyOf':
    case 'if':
      return undefined;
    default:
      return `${path}: ${e.message ?? 'is not valid'}, not ${shown(value)}`;
  }
}

/** What in `doc` breaks its schema, one line per problem with its path; empty when it is valid. */
export function schemaProblems(name: SchemaName, doc: unknown): string[] {
  const validate = validator(name);
  if (validate(doc)) return [];
  const lines = [...new Set((validate.errors ?? []).map((e) => describe(e, doc)).filter((d): d is string => d !== undefined))];
  // The branches of a choice at one path read as one line: `must be number or object, not "x"`.
  const merged = new Map<string, string>();
  for (const line of lines) {
    const m = /^(.*?): must be (.*), not (.*)$/.exec(line);
    const key = m ? `${m[1]}\u0000${m[3]}` : line;
    const before = merged.get(key);
    merged.set(key, before && m ? before.replace(/, not .*$/, ` or ${m[2]}, not ${m[3]}`) : line);
  }
  return [...merged.values()];
}
