import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * run.json is defined twice, as TypeScript types (src/model/run-result.ts) and as a JSON Schema
 * (schemas/run.schema.json); this test keeps them one definition. Both are read into the same shape — objects with
 * their fields, arrays with their items, maps, values — and compared field by field: a field in one and not the
 * other, or required by the schema but optional in the type, fails with its path. (The schema may leave a field
 * optional that the type requires: run.json files of older versions lack it.)
 */

type Shape = { kind: 'object'; fields: Map<string, { optional: boolean; shape: Shape }> } | { kind: 'array'; items: Shape } | { kind: 'map' } | { kind: 'value' };

const VALUE: Shape = { kind: 'value' };
const MAP: Shape = { kind: 'map' };

/** Objects with the same fields merged (a union of objects is one object whose fields are optional unless all have them). */
function merge(shapes: Shape[]): Shape {
  const objects = shapes.filter((s): s is Extract<Shape, { kind: 'object' }> => s.kind === 'object');
  if (objects.length === 0) return shapes.find((s) => s.kind !== 'value') ?? VALUE;
  const fields = new Map<string, { optional: boolean; shape: Shape }>();
  for (const o of objects) {
    for (const [name, f] of o.fields) {
      const before = fields.get(name);
      fields.set(name, before ? { optional: before.optional || f.optional, shape: merge([before.shape, f.shape]) } : { ...f });
    }
  }
  for (const [name, f] of fields) if (objects.some((o) => !o.fields.has(name))) f.optional = true;
  return { kind: 'object', fields };
}

function typeShape(type: ts.Type, checker: ts.TypeChecker, depth = 0): Shape {
  if (depth > 12) return VALUE;
  if (type.isUnion()) return merge(type.types.filter((t) => !(t.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined))).map((t) => typeShape(t, checker, depth + 1)));
  if (checker.isArrayType(type) || checker.isTupleType(type)) {
    const items = checker.getTypeArguments(type as ts.TypeReference);
    return { kind: 'array', items: merge(items.map((t) => typeShape(t, checker, depth + 1))) };
  }
  if (!(type.flags & (ts.TypeFlags.Object | ts.TypeFlags.Intersection))) return VALUE;
  const properties = checker.getPropertiesOfType(type);
  if (properties.length === 0) return checker.getIndexInfosOfType(type).length > 0 ? MAP : VALUE;
  const fields = new Map<string, { optional: boolean; shape: Shape }>();
  for (const p of properties) {
    const declaration = p.valueDeclaration ?? p.declarations?.[0];
    const propertyType = checker.getTypeOfSymbolAtLocation(p, declaration!);
    fields.set(p.name, { optional: (p.flags & ts.SymbolFlags.Optional) !== 0, shape: typeShape(propertyType, checker, depth + 1) });
  }
  return { kind: 'object', fields };
}

type Schema = {
  $ref?: string;
  oneOf?: Schema[];
  anyOf?: Schema[];
  patternProperties?: Record<string, Schema>;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
};

function schemaShape(schema: Schema, root: { $defs?: Record<string, Schema> }, depth = 0): Shape {
  if (depth > 12) return VALUE;
  if (schema.$ref) {
    // A JSON pointer into the schema: #/$defs/configuration/properties/hungSessions.
    const target = schema.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((at, key) => (at as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')], root);
    return schemaShape(target as Schema, root, depth + 1);
  }
  // One of several forms (a number or a list of them): read as the union of the type would be.
  const forms = schema.oneOf ?? schema.anyOf;
  if (forms) return merge(forms.map((f) => schemaShape(f, root, depth + 1)));
  const types = [schema.type ?? []].flat();
  if (schema.properties) {
    const fields = new Map<string, { optional: boolean; shape: Shape }>();
    for (const [name, s] of Object.entries(schema.properties)) {
      if (name === '$schema') continue;
      fields.set(name, { optional: !(schema.required ?? []).includes(name), shape: schemaShape(s, root, depth + 1) });
    }
    return { kind: 'object', fields };
  }
  if (types.includes('array') && schema.items) return { kind: 'array', items: schemaShape(schema.items, root, depth + 1) };
  if (types.includes('object') && (typeof schema.additionalProperties === 'object' || schema.patternProperties)) return MAP;
  return VALUE;
}

/** Where the two shapes differ, each as a path and what differs. */
export function differences(type: Shape, schema: Shape, path = '$'): string[] {
  if (type.kind !== schema.kind) return [`${path}: the type has ${type.kind}, the schema ${schema.kind}`];
  if (type.kind === 'array' && schema.kind === 'array') return differences(type.items, schema.items, `${path}[]`);
  if (type.kind !== 'object' || schema.kind !== 'object') return [];
  const out: string[] = [];
  for (const [name, t] of type.fields) {
    const s = schema.fields.get(name);
    if (!s) out.push(`${path}.${name}: in the type, not in the schema`);
    else {
      if (t.optional && !s.optional) out.push(`${path}.${name}: required by the schema, optional in the type`);
      out.push(...differences(t.shape, s.shape, `${path}.${name}`));
    }
  }
  for (const name of schema.fields.keys()) if (!type.fields.has(name)) out.push(`${path}.${name}: in the schema, not in the type`);
  return out;
}

/** The shape of the type `name` exported by `src/<file>`. */
function exportedShape(file: string, name: string): Shape {
  const path = new URL(`../src/${file}`, import.meta.url).pathname;
  const program = ts.createProgram([path], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true });
  const checker = program.getTypeChecker();
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(path)!)!);
  return typeShape(checker.getDeclaredTypeOfSymbol(exports.find((e) => e.name === name)!), checker);
}

const schemaFile = (name: string) => JSON.parse(readFileSync(new URL(`../schemas/${name}`, import.meta.url), 'utf8'));

describe('run.json: the TypeScript types and the JSON Schema', () => {
  it('have the same fields, at every depth, and the schema requires none that the type leaves optional', () => {
    const schema = schemaFile('run.schema.json');
    expect(differences(exportedShape('model/run-result.ts', 'RunResult'), schemaShape(schema, schema))).toEqual([]);
  });

  it("a plan input has the fields of a checkpoint's plan; a lab file's run has those of its schema", () => {
    const checkpoint = schemaFile('checkpoint.schema.json');
    // The checkpoint refuses unknown keys: a field of the plan missing from its schema would make every resume fail.
    expect(differences(exportedShape('model/plan-input.ts', 'PlanInput'), schemaShape(checkpoint.properties.plan, checkpoint))).toEqual([]);
    const lab = schemaFile('lab.schema.json');
    expect(differences(exportedShape('plan/lab-file.ts', 'LabRunSpec'), schemaShape(lab.properties.runs.items, lab))).toEqual([]);
  });

  it('the comparison finds a field added to one side only, and a required field made optional', () => {
    const object = (fields: Record<string, [boolean, Shape]>): Shape => ({ kind: 'object', fields: new Map(Object.entries(fields).map(([k, [optional, shape]]) => [k, { optional, shape }])) });
    const type = object({ a: [false, VALUE], b: [true, { kind: 'array', items: object({ c: [false, VALUE], extra: [false, VALUE] }) }] });
    const schema = object({ a: [false, VALUE], b: [false, { kind: 'array', items: object({ c: [false, VALUE] }) }], d: [true, VALUE] });
    expect(differences(type, schema)).toEqual(['$.b: required by the schema, optional in the type', '$.b[].extra: in the type, not in the schema', '$.d: in the schema, not in the type']);
  });
});
