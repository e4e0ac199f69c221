import { dockerTable, tabwrite } from './tabwriter.js';
import { FieldContext, Template, TemplateError } from './template.js';

/**
 * docker's `--format` handling for listings (ps, images, history, stats, system df):
 *   (empty) | table        → the command's default table
 *   table TEMPLATE         → TEMPLATE with a header line, aligned by the tabwriter
 *   json                   → one JSON object per row
 *   TEMPLATE               → TEMPLATE per row, no header
 * Literal `\t` and `\n` in the format are turned into tab and newline, as docker does.
 */
export interface ListingFormat {
  /** The user's --format ('' when absent). */
  format: string;
  /** The default, e.g. `table {{.ID}}\t{{.Image}}…`. */
  defaultTable: string;
  /** -q: what table/empty means then, e.g. `{{.ID}}`. */
  quiet?: boolean;
  quietFormat?: string;
}

/** The template source that will be used (still with its `table` prefix when it has one). */
export function resolveFormat(options: ListingFormat): string {
  const { format, quiet, quietFormat } = options;
  if (format === '' || format === 'table') return quiet && quietFormat ? quietFormat : options.defaultTable;
  if (format === 'json') return '{{json .}}';
  return format;
}

/** Thrown for a --format that does not parse or fails on a row; docker exits 1 with this text. */
export class FormatError extends Error {}

/**
 * A `--format` template of an object command (`inspect`, `info`, `version`): literal `\t` and `\n`
 * turned into tab and newline. FormatError `template parsing error: …` when it does not parse.
 */
export function compileFormat(format: string): Template {
  try {
    return new Template(format.replace(/\\t/g, '\t').replace(/\\n/g, '\n'));
  } catch (err) {
    if (err instanceof TemplateError) throw new FormatError(`template parsing error: ${err.message}`);
    throw err;
  }
}

/** Runs a compiled `--format` on one object; FormatError `template parsing error: …` when it fails. */
export function executeFormat(template: Template, data: unknown): string {
  try {
    return template.execute(data);
  } catch (err) {
    if (err instanceof TemplateError) throw new FormatError(`template parsing error: ${err.message}`);
    throw err;
  }
}

/**
 * Renders the rows (and, for table formats, a header from `header`, a context that answers each
 * field with its column title). Returns the complete text to write.
 */
export function renderListing(source: string, rows: FieldContext[], header: FieldContext): string {
  const table = source.startsWith('table');
  const body = (table ? source.slice('table'.length) : source).replace(/^ +| +$/g, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const plain = plainLines(body, table ? [header, ...rows] : rows);
  if (plain !== undefined) return table ? tabwrite(plain, dockerTable) : plain;
  let template: Template;
  try {
    template = new Template(body);
  } catch (err) {
    if (err instanceof TemplateError) throw new FormatError(`template parsing error: ${err.message}`);
    throw err;
  }
  let out = '';
  try {
    if (table) out += template.execute(header) + '\n';
    for (const row of rows) out += template.execute(row) + '\n';
  } catch (err) {
    if (err instanceof TemplateError) throw new FormatError(`failed to execute template: ${err.message}`);
    throw err;
  }
  return table ? tabwrite(out, dockerTable) : out;
}

/** Literal text and `{{.Field}}`s, nothing else: what every default table is (`table {{.ID}}\t{{.Image}}…`). */
const PLAIN_PART = /\{\{\.([A-Za-z][A-Za-z0-9]*)\}\}|[^{}]+/y;

/**
 * The lines of a template made only of literal text and `{{.Field}}`s whose values are strings,
 * made without the template engine: that is what the engine prints for them, and its parse and
 * execution (cold code, ~3 ms of `ps` with 20 rows, and the allocations that cost `ps` a second
 * scavenge; bench/README.md) are left out. Undefined for any other template or value: the engine
 * then renders it (and says what is wrong, as docker does).
 */
function plainLines(body: string, contexts: FieldContext[]): string | undefined {
  const parts: Array<string | { field: string }> = [];
  for (let at = 0; at < body.length; at = PLAIN_PART.lastIndex) {
    PLAIN_PART.lastIndex = at;
    const m = PLAIN_PART.exec(body);
    if (m === null) return undefined;
    parts.push(m[1] === undefined ? m[0] : { field: m[1] });
  }
  let out = '';
  for (const context of contexts) {
    for (const part of parts) {
      const text = typeof part === 'string' ? part : context.text(part.field);
      if (text === undefined) return undefined;
      out += text;
    }
    out += '\n';
  }
  return out;
}

/**
 * A column's title as docker's formatters name most of them: the field's words in capitals
 * (`CreatedAt` → `CREATED AT`, `LocalVolumes` → `LOCAL VOLUMES`).
 */
export function columnTitle(field: string): string {
  return field.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toUpperCase();
}

/**
 * A header context: every field answers its column title, columnTitle(field) for a bare field
 * name, the given one for a `[field, title]` pair (`['ID', 'CONTAINER ID']`) or in a map of titles.
 */
export function headerContext(typeName: string, columns: Array<string | [field: string, title: string]> | Record<string, string>): FieldContext {
  const fields: Record<string, () => string> = {};
  for (const column of Array.isArray(columns) ? columns : Object.entries(columns)) {
    const [name, title] = typeof column === 'string' ? [column, columnTitle(column)] : column;
    fields[name] = () => title;
  }
  return new FieldContext(typeName, fields);
}
