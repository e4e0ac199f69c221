import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import composeSpec from '../schema/compose-spec.json' with { type: 'json' };
import { composeError, pathString } from './compose-error.js';
import { lineOf } from './interpolate.js';
import type { PathSegments } from './parse-yaml.js';

/**
 * Phase 3: one interpolated file against the Compose Specification's JSON schema
 * (`libs/compose/schema/compose-spec.json`), with ajv. ajv's errors are reduced to the one that
 * says most (the deepest field, the union of the types a `oneOf` would accept) and rewritten as
 * `compose.yaml:12: services.web.ports[1]: must be a string, a number or a mapping, got a list`.
 */

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  // Compiled on first use (about 0.5 s on this machine), so commands that never load a project pay nothing.
  // The file names its draft by an https URL ajv does not know; it is draft-07, ajv's default.
  const { $schema: _draft, ...schema } = composeSpec as Record<string, unknown>;
  // inlineRefs and optimize off: compiling drops from ~1 s to ~0.4 s, validating stays well under 1 ms.
  compiled ??= new Ajv({ strict: false, allErrors: false, verbose: true, inlineRefs: false, code: { optimize: false } }).compile(schema);
  return compiled;
}

const typeNames: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
  null: 'null',
};

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}

function orList(items: string[]): string {
  const unique = [...new Set(items)];
  if (unique.length <= 1) return unique[0] ?? '';
  return `${unique.slice(0, -1).join(', ')} or ${unique[unique.length - 1]}`;
}

function segmentsOf(instancePath: string, data: unknown): PathSegments {
  const out: PathSegments = [];
  let node = data;
  for (const raw of instancePath.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      out.push(Number(key));
      node = node[Number(key)];
    } else {
      out.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

function messageFor(errors: ErrorObject[], value: unknown): { message: string; extra?: string } {
  const additional = errors.find((e) => e.keyword === 'additionalProperties');
  if (additional) {
    const name = (additional.params as { additionalProperty: string }).additionalProperty;
    const patterns = (additional.parentSchema as { patternProperties?: Record<string, unknown> } | undefined)?.patternProperties;
    const pats = patterns ? Object.keys(patterns).filter((p) => !p.startsWith('^x-')) : [];
    if (pats.length > 0) return { message: `invalid name ${JSON.stringify(name)}: names must match ${pats.join(' or ')}` };
    return { message: `additional property ${JSON.stringify(name)} is not allowed` };
  }
  const required = errors.find((e) => e.keyword === 'required');
  if (required) return { message: `missing required property ${JSON.stringify((required.params as { missingProperty: string }).missingProperty)}` };
  const types = errors.filter((e) => e.keyword === 'type');
  if (types.length > 0) {
    const wanted = types.flatMap((e) => {
      const t = (e.params as { type: string | string[] }).type;
      return (Array.isArray(t) ? t : String(t).split(',')).map((x) => typeNames[x] ?? x);
    });
    return { message: `must be ${orList(wanted)}, got ${describe(value)}` };
  }
  const first = errors[0]!;
  const params = first.params as Record<string, unknown>;
  switch (first.keyword) {
    case 'enum':
      return { message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${describe(value)}` };
    case 'const':
      return { message: `must be ${JSON.stringify(params.allowedValue)}, got ${describe(value)}` };
    case 'pattern':
      return { message: `must match ${String(params.pattern)}, got ${describe(value)}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { message: `must be ${String(params.comparison)} ${String(params.limit)}, got ${describe(value)}` };
    case 'uniqueItems':
      return { message: `must not contain duplicates (items ${String(params.j)} and ${String(params.i)} are equal)` };
    case 'minItems':
      return { message: `must have at least ${String(params.limit)} item(s)` };
    case 'maxItems':
      return { message: `must have at most ${String(params.limit)} item(s)` };
    case 'minProperties':
      return { message: `must have at least ${String(params.limit)} propert${params.limit === 1 ? 'y' : 'ies'}` };
    case 'not':
      return { message: 'has a value that is not allowed here' };
    case 'dependencies':
    case 'dependentRequired':
      return { message: `property ${JSON.stringify(params.missingProperty)} is required when ${JSON.stringify(params.property)} is set` };
    case 'oneOf':
    case 'anyOf':
      return { message: `does not match any allowed form, got ${describe(value)}` };
    default:
      return { message: first.message ?? 'is invalid' };
  }
}

export interface SchemaContext {
  file: string;
  lines?: Map<string, number>;
}

/** Validates one file's model; throws the Compose error for the most specific problem. */
export function validateSchema(model: unknown, ctx: SchemaContext): void {
  const validate = validator();
  if (validate(model)) return;
  const errors = validate.errors ?? [];
  const depth = (e: ErrorObject) => (e.instancePath === '' ? 0 : e.instancePath.split('/').length - 1);
  const concrete = errors.filter((e) => !['oneOf', 'anyOf', 'if', 'then', 'else'].includes(e.keyword));
  const pool = concrete.length > 0 ? concrete : errors;
  const deepest = Math.max(...pool.map(depth));
  const at = pool.filter((e) => depth(e) === deepest);
  const instancePath = at[0]!.instancePath;
  const sameField = at.filter((e) => e.instancePath === instancePath);
  const path = segmentsOf(instancePath, model);
  const { message } = messageFor(sameField, sameField[0]!.data);
  const additional = sameField.find((e) => e.keyword === 'additionalProperties');
  if (additional && !message.startsWith('invalid name')) path.push((additional.params as { additionalProperty: string }).additionalProperty);
  throw composeError({ file: ctx.file, path: pathString(path) || undefined, line: lineOf(ctx.lines, path) }, message);
}
