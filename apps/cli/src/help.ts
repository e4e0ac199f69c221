import { type CommandDef, type GroupDef, isGroup } from './command-def.js';
import { topLevel } from './commands.js';
import { type FlagSpec } from './flags.js';

/**
 * `--help` as docker 28 prints it (cli/cobra.go usageTemplate): Usage, the description, the
 * Aliases line (every name the command answers to), then the options with pflag's
 * FlagUsagesWrapped layout: descriptions aligned after the longest flag, wrapped to the terminal
 * width (80 columns when the output is not a terminal) with pflag's wrap rules.
 */

const typeNames: Record<string, string> = { bool: '', string: 'string', list: 'list', int: 'int', bytes: 'bytes', decimal: 'decimal', filter: 'filter', duration: 'duration' };

/** pflag's wrapN: the first line of at most `i` characters (going `slop` over to take the rest). */
function wrapN(i: number, slop: number, s: string): [string, string] {
  if (i + slop > s.length) return [s, ''];
  const head = s.slice(0, i);
  const w = Math.max(head.lastIndexOf(' '), head.lastIndexOf('\t'), head.lastIndexOf('\n'));
  if (w <= 0) return [s, ''];
  const nl = head.lastIndexOf('\n');
  if (nl > 0 && nl < w) return [s.slice(0, nl), s.slice(nl + 1)];
  return [s.slice(0, w), s.slice(w + 1)];
}

/** pflag's wrap: `s` wrapped to width `w`, continuation lines indented by `i`. */
export function wrapText(i: number, w: number, s: string): string {
  if (w === 0) return s.replaceAll('\n', `\n${' '.repeat(i)}`);
  let wrap = w - i;
  let r = '';
  if (wrap < 24) {
    i = 16;
    wrap = w - i;
    r += `\n${' '.repeat(i)}`;
  }
  if (wrap < 24) return s.replaceAll('\n', r);
  const slop = 5;
  wrap -= slop;
  let [line, rest] = wrapN(wrap, slop, s);
  r += line.replaceAll('\n', `\n${' '.repeat(i)}`);
  while (rest !== '') {
    [line, rest] = wrapN(wrap, slop, rest);
    r += `\n${' '.repeat(i)}${line.replaceAll('\n', `\n${' '.repeat(i)}`)}`;
  }
  return r;
}

/** pflag's FlagUsagesWrapped(cols): one entry per visible flag, sorted by name. */
export function flagUsages(flags: FlagSpec[], cols: number): string {
  const visible = flags.filter((f) => !f.hidden).sort((a, b) => a.long.localeCompare(b.long));
  const entries = visible.map((f) => {
    let left = f.short ? `  -${f.short}, --${f.long}` : `      --${f.long}`;
    const type = f.typeName ?? typeNames[f.type];
    if (type) left += ` ${type}`;
    let usage = f.description;
    if (f.default !== undefined && f.default !== false && f.default !== '' && f.default !== 0) {
      usage += typeof f.default === 'string' ? ` (default "${f.default}")` : ` (default ${f.default})`;
    }
    return { left, usage };
  });
  const maxlen = Math.max(0, ...entries.map((e) => e.left.length + 1));
  return entries.map((e) => `${e.left} ${' '.repeat(maxlen - e.left.length)} ${wrapText(maxlen + 2, cols, e.usage)}\n`).join('');
}

/** Groups whose names docker lists before the top-level shortcut (`docker container run, docker run`). */
const leadingGroups = ['container', 'image', 'network', 'volume', 'system', 'context'];

/**
 * Every `berth …` path that runs the same command (the same handler), as docker's "aliases"
 * annotation lists them: the management command's names first, then the shortcut, then other
 * groups (`docker image build, docker build, docker builder build`).
 */
export function aliasesOf(command: CommandDef): string[] {
  const entries = Object.entries(topLevel);
  const inGroup = ([name, entry]: [string, CommandDef | GroupDef]) =>
    isGroup(entry) ? Object.entries((entry as GroupDef).commands).filter(([, cmd]) => cmd.load === command.load).map(([sub]) => `berth ${name} ${sub}`) : [];
  const leading = leadingGroups.flatMap((g) => entries.filter(([name]) => name === g).flatMap(inGroup));
  const shortcuts = entries.filter(([, entry]) => !isGroup(entry) && entry.load === command.load).map(([name]) => `berth ${name}`);
  const others = entries.filter(([name]) => !leadingGroups.includes(name)).flatMap(inGroup);
  return [...leading, ...shortcuts, ...others];
}

/** The help text of one command, for a terminal `columns` wide (undefined: not a terminal). */
export function commandHelp(command: CommandDef, path: string, options: { columns?: number } = {}): string {
  const help: FlagSpec = { long: 'help', type: 'bool', description: 'Print usage' };
  const aliases = aliasesOf(command);
  const cols = (options.columns ?? 80) - 1;
  return [
    `Usage:  ${path} ${command.usage}\n\n`,
    `${command.description.trimEnd()}\n`,
    aliases.length > 1 ? `\nAliases:\n  ${aliases.join(', ')}\n` : '',
    `\nOptions:\n${flagUsages([...command.flags, help], cols).trimEnd()}\n`,
  ].join('');
}
