/**
 * A subset of Go's text/template, enough for docker's `--format` flags:
 *   {{.Field}} {{.A.B}} {{.}} {{json .Config}} {{.Label "k"}} {{index .Config.Labels "k"}}
 *   {{.Names | upper}} {{if .X}}…{{else if .Y}}…{{else}}…{{end}} {{range .Mounts}}…{{end}}
 *   {{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{end}} {{with .State}}{{.Status}}{{end}}
 *   {{- trim markers -}} {{/* comments *\/}}
 * with docker's functions (json, join, split, lower, upper, title, pad, truncate, println) and Go's
 * builtins (index, len, printf, print, eq, ne, lt, le, gt, ge, not, and, or, slice).
 *
 * Values print as Go prints them with %v: `<no value>` for a missing map key, `<nil>`, `[a b]`,
 * `map[k:v]`. Rows of `ps`/`images`/... are FieldContext objects: like docker's formatter structs,
 * an unknown field there is an error (`can't evaluate field Foo in type *formatter.ContainerContext`),
 * while on inspect JSON (plain objects) it prints `<no value>` as docker's raw-map fallback does.
 */
import { asList, FieldContext, goTypeOf, printValue, sprintf, truthy } from './template-values.js';

export { FieldContext, printValue, truthy } from './template-values.js';

/** Thrown for parse and execution errors, with Go's wording (`template: :1:2: executing "" at <.Foo>: …`). */
export class TemplateError extends Error {
  constructor(
    message: string,
    readonly phase: 'parse' | 'execute',
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}


// ---------------------------------------------------------------------------------------------
// Lexing

type TokenKind = 'field' | 'var' | 'ident' | 'string' | 'number' | 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign' | 'comma';

interface Token {
  kind: TokenKind;
  text: string;
  pos: number; // offset in the whole template source
  spaceBefore: boolean;
}

/** The one-character tokens of an action (`:=` is the only longer one). */
const punctuation = new Map<string, TokenKind>([
  ['|', 'pipe'],
  ['(', 'lparen'],
  [')', 'rparen'],
  [',', 'comma'],
  ['=', 'assign'],
]);

function lexAction(text: string, offset: number, source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let spaceBefore = true;
  const fail = (msg: string): never => {
    throw new TemplateError(`template: :${lineOf(source, offset + i)}: ${msg}`, 'parse');
  };
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      spaceBefore = true;
      continue;
    }
    const start = i;
    let kind: TokenKind;
    const single = punctuation.get(c);
    if (c === ':' && text[i + 1] === '=') {
      kind = 'declare';
      i += 2;
    } else if (single !== undefined) {
      kind = single;
      i++;
    } else if (c === '"') {
      kind = 'string';
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      if (i >= text.length) fail('unterminated quoted string');
      i++;
    } else if (c === '`') {
      kind = 'string';
      const end = text.indexOf('`', i + 1);
      if (end < 0) fail('unterminated raw quoted string');
      i = end + 1;
    } else if (c === '.' || c === '$') {
      kind = c === '.' ? 'field' : 'var';
      i++;
      while (i < text.length && /[\w.]/.test(text[i]!)) i++;
    } else if (/[-+\d]/.test(c)) {
      kind = 'number';
      i++;
      while (i < text.length && /[\w.]/.test(text[i]!)) i++;
    } else if (/[A-Za-z_]/.test(c)) {
      kind = 'ident';
      while (i < text.length && /\w/.test(text[i]!)) i++;
    } else {
      return fail(`unexpected "${c}" in command`);
    }
    tokens.push({ kind, text: text.slice(start, i), pos: offset + start, spaceBefore });
    spaceBefore = false;
  }
  return tokens;
}

function lineOf(source: string, pos: number): number {
  return source.slice(0, pos).split('\n').length;
}

// ---------------------------------------------------------------------------------------------
// Parsing

type Operand =
  | { type: 'field'; chain: string[]; pos: number; text: string }
  | { type: 'var'; name: string; chain: string[]; pos: number; text: string }
  | { type: 'ident'; name: string; pos: number; text: string }
  | { type: 'literal'; value: unknown; pos: number; text: string }
  | { type: 'pipeline'; pipeline: Pipeline; chain: string[]; pos: number; text: string };

interface Command {
  operands: Operand[];
}

interface Pipeline {
  declare: string[];
  assign: boolean;
  commands: Command[];
  pos: number;
}

type Node =
  | { type: 'text'; text: string }
  | { type: 'action'; pipeline: Pipeline }
  | { type: 'if' | 'with'; pipeline: Pipeline; body: Node[]; otherwise: Node[] }
  | { type: 'range'; pipeline: Pipeline; body: Node[]; otherwise: Node[] };

const functions: Record<string, (...args: unknown[]) => unknown> = {
  json: (v) => JSON.stringify(v === undefined ? null : v),
  join: (list, sep) => asList(list).map((x) => printValue(x)).join(String(sep)),
  split: (s, sep) => String(s).split(String(sep)),
  lower: (s) => printValue(s).toLowerCase(),
  upper: (s) => printValue(s).toUpperCase(),
  title: (s) => printValue(s).replace(/(^|\s)(\S)/g, (_m, a: string, b: string) => a + b.toUpperCase()),
  pad: (s, left, right) => ' '.repeat(Number(left)) + printValue(s) + ' '.repeat(Number(right)),
  truncate: (s, n) => [...printValue(s)].slice(0, Number(n)).join(''),
  println: (...args) => args.map((a) => printValue(a)).join(' ') + '\n',
  print: (...args) => args.map((a) => printValue(a)).join(''),
  printf: (format, ...args) => sprintf(String(format), args),
  len: (v) => (typeof v === 'string' ? [...v].length : Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
  index: (v, ...keys) => keys.reduce((acc: unknown, k) => (acc == null ? undefined : (acc as Record<string, unknown>)[String(k)]), v),
  slice: (v, i, j) => (typeof v === 'string' || Array.isArray(v) ? v.slice(Number(i ?? 0), j === undefined ? undefined : Number(j)) : v),
  eq: (a, ...bs) => bs.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: (a, b) => (a as number) < (b as number),
  le: (a, b) => (a as number) <= (b as number),
  gt: (a, b) => (a as number) > (b as number),
  ge: (a, b) => (a as number) >= (b as number),
  not: (a) => !truthy(a),
  and: (...args) => args.find((a) => !truthy(a)) ?? args[args.length - 1],
  or: (...args) => args.find((a) => truthy(a)) ?? args[args.length - 1],
};

class Parser {
  private index = 0;
  private readonly items: Array<{ kind: 'text'; text: string } | { kind: 'action'; tokens: Token[]; pos: number }>;

  constructor(private readonly source: string) {
    this.items = split(source);
  }

  parse(): Node[] {
    const { nodes, end } = this.list();
    if (end) throw this.error(end.pos, `unexpected {{${end.keyword}}}`);
    return nodes;
  }

  private error(pos: number, message: string): TemplateError {
    return new TemplateError(`template: :${lineOf(this.source, pos)}: ${message}`, 'parse');
  }

  /** Nodes until {{end}} / {{else …}} (returned as `end`) or the end of the source. */
  private list(): { nodes: Node[]; end?: { keyword: 'end' | 'else'; tokens: Token[]; pos: number } } {
    const nodes: Node[] = [];
    while (this.index < this.items.length) {
      const item = this.items[this.index++]!;
      if (item.kind === 'text') {
        nodes.push({ type: 'text', text: item.text });
        continue;
      }
      const [first, ...rest] = item.tokens;
      if (!first) continue; // a comment
      if (first.kind === 'ident' && (first.text === 'end' || first.text === 'else')) {
        return { nodes, end: { keyword: first.text, tokens: rest, pos: first.pos } };
      }
      if (first.kind === 'ident' && (first.text === 'if' || first.text === 'with' || first.text === 'range')) {
        nodes.push(this.block(first.text, rest, first.pos));
        continue;
      }
      if (first.kind === 'ident' && ['define', 'template', 'block', 'break', 'continue'].includes(first.text)) {
        throw this.error(first.pos, `{{${first.text}}} is not supported`);
      }
      nodes.push({ type: 'action', pipeline: this.pipeline(item.tokens, item.pos) });
    }
    return { nodes };
  }

  private block(keyword: 'if' | 'with' | 'range', tokens: Token[], pos: number): Node {
    if (tokens.length === 0) throw this.error(pos, `missing value for ${keyword}`);
    const pipeline = this.pipeline(tokens, pos);
    const body = this.list();
    if (!body.end) throw this.error(pos, 'unexpected EOF');
    let otherwise: Node[] = [];
    if (body.end.keyword === 'else') {
      const [next, ...rest] = body.end.tokens;
      if (next && next.kind === 'ident' && (next.text === 'if' || next.text === 'with')) {
        // {{else if …}} chains: the nested block consumes the single {{end}}.
        otherwise = [this.block(next.text, rest, next.pos)];
      } else {
        const tail = this.list();
        if (!tail.end || tail.end.keyword !== 'end') throw this.error(pos, 'expected end; found EOF');
        otherwise = tail.nodes;
      }
    }
    return { type: keyword, pipeline, body: body.nodes, otherwise };
  }

  private pipeline(tokens: Token[], pos: number): Pipeline {
    let i = 0;
    const declare: string[] = [];
    let assign = false;
    // `$x :=`, `$k, $v :=`, `$x =`
    const declEnd = tokens.findIndex((t) => t.kind === 'declare' || t.kind === 'assign');
    if (declEnd > 0 && tokens.slice(0, declEnd).every((t) => t.kind === 'var' || t.kind === 'comma')) {
      for (const t of tokens.slice(0, declEnd)) if (t.kind === 'var') declare.push(t.text);
      assign = tokens[declEnd]!.kind === 'assign';
      i = declEnd + 1;
    }
    const commands: Command[] = [];
    let operands: Operand[] = [];
    const read = (): Operand => {
      const t = tokens[i++]!;
      switch (t.kind) {
        case 'field':
          return { type: 'field', chain: fieldChain(t.text), pos: t.pos, text: t.text };
        case 'var': {
          const [name, ...chain] = t.text.split('.');
          return { type: 'var', name: name!, chain: chain.filter(Boolean), pos: t.pos, text: t.text };
        }
        case 'string':
          return { type: 'literal', value: unquote(t.text), pos: t.pos, text: t.text };
        case 'number': {
          const value = Number(t.text);
          if (Number.isNaN(value)) throw this.error(t.pos, `bad number syntax: "${t.text}"`);
          return { type: 'literal', value, pos: t.pos, text: t.text };
        }
        case 'ident':
          if (t.text === 'true' || t.text === 'false') return { type: 'literal', value: t.text === 'true', pos: t.pos, text: t.text };
          if (t.text === 'nil') return { type: 'literal', value: null, pos: t.pos, text: t.text };
          if (!Object.hasOwn(functions, t.text)) throw this.error(t.pos, `function "${t.text}" not defined`);
          return { type: 'ident', name: t.text, pos: t.pos, text: t.text };
        case 'lparen': {
          let depth = 1;
          const start = i;
          while (i < tokens.length && depth > 0) {
            if (tokens[i]!.kind === 'lparen') depth++;
            if (tokens[i]!.kind === 'rparen') depth--;
            i++;
          }
          if (depth > 0) throw this.error(t.pos, 'unclosed left paren');
          const inner = this.pipeline(tokens.slice(start, i - 1), t.pos);
          let chain: string[] = [];
          if (tokens[i]?.kind === 'field' && !tokens[i]!.spaceBefore) chain = fieldChain(tokens[i++]!.text);
          return { type: 'pipeline', pipeline: inner, chain, pos: t.pos, text: '(…)' };
        }
        default:
          throw this.error(t.pos, `unexpected "${t.text}" in command`);
      }
    };
    while (i < tokens.length) {
      if (tokens[i]!.kind === 'pipe') {
        if (operands.length === 0) throw this.error(tokens[i]!.pos, 'missing command');
        commands.push({ operands });
        operands = [];
        i++;
        continue;
      }
      operands.push(read());
    }
    if (operands.length === 0) throw this.error(pos, 'missing command');
    commands.push({ operands });
    return { declare, assign, commands, pos };
  }
}

function fieldChain(text: string): string[] {
  return text === '.' ? [] : text.slice(1).split('.');
}

function unquote(text: string): string {
  if (text.startsWith('`')) return text.slice(1, -1);
  try {
    return JSON.parse(text) as string;
  } catch {
    return text.slice(1, -1);
  }
}

/** Splits the source into text and actions, applying `{{-`/`-}}` trimming and dropping comments. */
function split(source: string): Array<{ kind: 'text'; text: string } | { kind: 'action'; tokens: Token[]; pos: number }> {
  const items: Array<{ kind: 'text'; text: string } | { kind: 'action'; tokens: Token[]; pos: number }> = [];
  let i = 0;
  let trimNext = false;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    let text = open < 0 ? source.slice(i) : source.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      if (text) items.push({ kind: 'text', text });
      break;
    }
    let start = open + 2;
    if (/^-\s/.test(source.slice(start, start + 2))) {
      text = text.replace(/\s+$/, '');
      start += 2;
    }
    if (text) items.push({ kind: 'text', text });
    const close = source.indexOf('}}', start);
    if (close < 0) throw new TemplateError(`template: :${lineOf(source, open)}: unclosed action`, 'parse');
    let end = close;
    trimNext = false;
    if (/\s-$/.test(source.slice(start, close)) ) {
      end = close - 2;
      trimNext = true;
    }
    const inner = source.slice(start, end);
    if (/^\s*\/\*[\s\S]*\*\/\s*$/.test(inner)) items.push({ kind: 'action', tokens: [], pos: start });
    else items.push({ kind: 'action', tokens: lexAction(inner, start, source), pos: start });
    i = close + 2;
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// Execution

class Executor {
  private readonly scopes: Array<Map<string, unknown>>;

  constructor(
    private readonly source: string,
    root: unknown,
  ) {
    this.scopes = [new Map([['$', root]])];
  }

  run(nodes: Node[], dot: unknown): string {
    let out = '';
    for (const node of nodes) {
      switch (node.type) {
        case 'text':
          out += node.text;
          break;
        case 'action': {
          const value = this.pipeline(node.pipeline, dot);
          if (node.pipeline.declare.length === 0) out += printValue(value);
          break;
        }
        case 'if':
        case 'with': {
          this.scopes.push(new Map());
          const value = this.pipeline(node.pipeline, dot);
          if (truthy(value)) out += this.run(node.body, node.type === 'with' ? value : dot);
          else out += this.run(node.otherwise, dot);
          this.scopes.pop();
          break;
        }
        case 'range': {
          this.scopes.push(new Map());
          const { commands, pos } = node.pipeline;
          const value = this.pipeline({ declare: [], assign: false, commands, pos }, dot);
          const entries: Array<[unknown, unknown]> = Array.isArray(value)
            ? value.map((v, i) => [i, v])
            : value && typeof value === 'object' && !(value instanceof FieldContext)
              ? Object.keys(value).sort().map((k) => [k, (value as Record<string, unknown>)[k]])
              : value == null
                ? []
                : this.fail(pos, node.pipeline.commands[0]!.operands[0]!.text, `range can't iterate over ${printValue(value)}`);
          if (entries.length === 0) out += this.run(node.otherwise, dot);
          const [first, second] = node.pipeline.declare;
          for (const [key, element] of entries) {
            const scope = this.scopes[this.scopes.length - 1]!;
            if (second !== undefined) {
              scope.set(first!, key);
              scope.set(second, element);
            } else if (first !== undefined) scope.set(first, element);
            out += this.run(node.body, element);
          }
          this.scopes.pop();
          break;
        }
      }
    }
    return out;
  }

  private fail(pos: number, at: string, message: string): never {
    const before = this.source.slice(0, pos);
    const line = before.split('\n').length;
    const col = pos - (before.lastIndexOf('\n') + 1);
    throw new TemplateError(`template: :${line}:${col}: executing "" at <${at}>: ${message}`, 'execute');
  }

  private lookupVar(name: string, pos: number): unknown {
    for (let i = this.scopes.length - 1; i >= 0; i--) if (this.scopes[i]!.has(name)) return this.scopes[i]!.get(name);
    return this.fail(pos, name, `undefined variable: ${name}`);
  }

  private pipeline(pipeline: Pipeline, dot: unknown): unknown {
    let value: unknown;
    let piped = false;
    for (const command of pipeline.commands) {
      value = this.command(command, dot, piped ? [value] : []);
      piped = true;
    }
    if (pipeline.declare.length > 0) {
      const name = pipeline.declare[pipeline.declare.length - 1]!;
      if (pipeline.assign) {
        const scope = [...this.scopes].reverse().find((s) => s.has(name));
        if (!scope) this.fail(pipeline.pos, name, `undefined variable: ${name}`);
        scope.set(name, value);
      } else this.scopes[this.scopes.length - 1]!.set(name, value);
    }
    return value;
  }

  private command(command: Command, dot: unknown, final: unknown[]): unknown {
    const [head, ...rest] = command.operands;
    const args = () => [...rest.map((o) => this.operand(o, dot, [])), ...final];
    if (head!.type === 'ident') {
      try {
        return functions[head!.name]!(...args());
      } catch (err) {
        if (err instanceof TemplateError) throw err;
        return this.fail(head!.pos, head!.text, `error calling ${head!.name}: ${(err as Error).message}`);
      }
    }
    if (rest.length > 0 || final.length > 0) {
      if (head!.type === 'field' || head!.type === 'var') return this.operand(head!, dot, args());
      return this.fail(head!.pos, head!.text, `can't give argument to non-function ${head!.text}`);
    }
    return this.operand(head!, dot, []);
  }

  private operand(op: Operand, dot: unknown, args: unknown[]): unknown {
    switch (op.type) {
      case 'literal':
        return op.value;
      case 'ident':
        return functions[op.name]!();
      case 'field':
        return this.chain(dot, op.chain, args, op);
      case 'var':
        return this.chain(this.lookupVar(op.name, op.pos), op.chain, args, op);
      case 'pipeline':
        return this.chain(this.pipeline(op.pipeline, dot), op.chain, args, op);
    }
  }

  private chain(value: unknown, chain: string[], args: unknown[], op: Operand): unknown {
    if (chain.length === 0 && args.length > 0) return this.fail(op.pos, op.text, `can't give argument to non-function ${op.text}`);
    for (let i = 0; i < chain.length; i++) {
      const name = chain[i]!;
      const last = i === chain.length - 1;
      if (value instanceof FieldContext) {
        if (!value.has(name)) return this.fail(op.pos, op.text, `can't evaluate field ${name} in type ${value.typeName}`);
        value = value.get(name, last ? args : []);
        continue;
      }
      if (last && args.length > 0) return this.fail(op.pos, op.text, `can't give argument to non-function ${op.text}`);
      if (value == null) {
        value = undefined;
      } else if (typeof value === 'object' && !Array.isArray(value)) {
        value = (value as Record<string, unknown>)[name];
      } else {
        return this.fail(op.pos, op.text, `can't evaluate field ${name} in type ${goTypeOf(value)}`);
      }
    }
    return value;
  }
}

/** A parsed template; parse once, execute per row. */
export class Template {
  private readonly nodes: Node[];

  /** Throws TemplateError (phase 'parse') with Go's wording. */
  constructor(readonly source: string) {
    this.nodes = new Parser(source).parse();
  }

  /** Throws TemplateError (phase 'execute'). */
  execute(data: unknown): string {
    return new Executor(this.source, data).run(this.nodes, data);
  }
}

/** Parses and executes in one go. */
export function renderTemplate(source: string, data: unknown): string {
  return new Template(source).execute(data);
}
