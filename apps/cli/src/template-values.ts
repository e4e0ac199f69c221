/**
 * The values Go templates work on, as docker's `--format` sees them: rows (FieldContext, docker's
 * `formatter.*Context` structs), Go's truth, `%v` printing and `printf` (used by template.ts).
 */

/**
 * A row of a table (docker's `formatter.*Context`): named fields computed on demand. A field may
 * take arguments (`{{.Label "com.example"}}`).
 */
export class FieldContext {
  constructor(
    /** Go type name shown in errors, e.g. `*formatter.ContainerContext`. */
    readonly typeName: string,
    private readonly fields: Record<string, (...args: unknown[]) => unknown>,
  ) {}

  has(name: string): boolean {
    return Object.hasOwn(this.fields, name);
  }

  get(name: string, args: unknown[]): unknown {
    return this.fields[name]!(...args);
  }

  /** The field `name` when it takes no argument and is a string (what `{{.Name}}` prints as is), else undefined. */
  text(name: string): string | undefined {
    const field = Object.hasOwn(this.fields, name) ? this.fields[name]! : undefined;
    if (field === undefined || field.length !== 0) return undefined;
    const value = field();
    return typeof value === 'string' ? value : undefined;
  }

  /** `{{json .}}`: every field that takes no argument, in name order (as docker marshals them). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(this.fields).sort()) {
      if (this.fields[name]!.length === 0) out[name] = this.fields[name]!();
    }
    return out;
  }
}

export function goTypeOf(value: unknown): string {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float64';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return '[]interface {}';
  return 'interface {}';
}

export function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value == null ? [] : [value];
}

/** Go's notion of truth in {{if}}: false, 0, nil, empty string/slice/map are false. */
export function truthy(value: unknown): boolean {
  if (value == null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object' && !(value instanceof FieldContext)) return Object.keys(value).length > 0;
  return true;
}

/** A value as Go's `%v` prints it. */
export function printValue(value: unknown, nested = false): string {
  if (value === undefined) return nested ? '<nil>' : '<no value>';
  if (value === null) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => printValue(v, true)).join(' ')}]`;
  if (value instanceof FieldContext) {
    const json = value.toJSON();
    return `{${Object.keys(json).map((k) => printValue(json[k], true)).join(' ')}}`;
  }
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `map[${Object.keys(record).sort().map((k) => `${k}:${printValue(record[k], true)}`).join(' ')}]`;
  }
  return String(value);
}

/** Go's fmt.Sprintf for the verbs templates use: %s %v %d %q %f %x %X %t %%, with width/precision. */
export function sprintf(format: string, args: unknown[]): string {
  let n = 0;
  return format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([sdvqfxXtg%])/g, (_m, flags: string, width?: string, precision?: string, verb?: string) => {
    if (verb === '%') return '%';
    if (n >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[n++];
    let s: string;
    switch (verb) {
      case 'd':
        s = String(Math.trunc(Number(arg)));
        break;
      case 'f':
        s = Number(arg).toFixed(precision === undefined ? 6 : Number(precision));
        break;
      case 'g':
        s = String(Number(arg));
        break;
      case 'x':
      case 'X':
        s = typeof arg === 'number' ? arg.toString(16) : Buffer.from(printValue(arg)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      case 'q':
        s = JSON.stringify(printValue(arg));
        break;
      default:
        s = printValue(arg);
        if (precision !== undefined && verb === 's') s = s.slice(0, Number(precision));
    }
    if (width !== undefined && s.length < Number(width)) {
      const fill = ' '.repeat(Number(width) - s.length);
      s = flags.includes('-') ? s + fill : flags.includes('0') && verb !== 's' ? fill.replace(/ /g, '0') + s : fill + s;
    }
    return s;
  });
}
