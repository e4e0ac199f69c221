/**
 * Instruction flags (`COPY --chown=…`), as BuildKit's BFlags handle them: each instruction declares
 * the flags it accepts, then `parse()` validates what was written, suggesting the closest name for a
 * misspelt one.
 */
import { excerpt } from './dockerfile-error.js';
import { InstructionError } from './instruction-error.js';

export interface Flag<T> {
  name: string;
  value: T | undefined;
}

/** BuildKit's BFlags: each instruction declares its flags, then `parse()` validates what was given. */
export class Flags {
  private readonly declared = new Map<string, { type: 'string' | 'bool' | 'strings'; flag: Flag<unknown> & { values?: string[] } }>();

  constructor(private readonly args: readonly string[]) {}

  string(name: string): Flag<string> {
    const flag: Flag<string> = { name, value: undefined };
    this.declared.set(name, { type: 'string', flag });
    return flag;
  }
  bool(name: string): Flag<boolean> {
    const flag: Flag<boolean> = { name, value: undefined };
    this.declared.set(name, { type: 'bool', flag });
    return flag;
  }
  strings(name: string): { name: string; values: string[] } {
    const flag = { name, value: undefined, values: [] as string[] };
    this.declared.set(name, { type: 'strings', flag });
    return flag;
  }

  parse(): void {
    const used = new Set<string>();
    for (const arg of this.args) {
      if (arg === '--') return;
      let name = arg.slice(2);
      let value: string | undefined;
      const eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.slice(eq + 1);
        name = name.slice(0, eq);
      }
      const entry = this.declared.get(name);
      if (!entry) {
        const hint = suggestFrom(name, [...this.declared.keys()]);
        throw new InstructionError(`unknown flag: ${excerpt(name)}${hint ? ` (did you mean ${hint}?)` : ''}`);
      }
      if (used.has(name) && entry.type !== 'strings') throw new InstructionError(`duplicate flag specified: ${excerpt(name)}`);
      used.add(name);
      if (entry.type === 'bool') {
        if (value === undefined) entry.flag.value = true;
        else if (value === '') throw new InstructionError(`missing a value on flag: ${name}`);
        else if (value.toLowerCase() === 'true' || value.toLowerCase() === 'false') entry.flag.value = value.toLowerCase() === 'true';
        else throw new InstructionError(`expecting boolean value for flag ${name}, not: ${excerpt(value)}`);
      } else {
        if (value === undefined) throw new InstructionError(`missing a value on flag: ${name}`);
        if (entry.type === 'string') entry.flag.value = value;
        else entry.flag.values!.push(value);
      }
    }
  }
}

/**
 * The closest candidate within a small edit distance (transpositions count once): at most a third
 * of the word's length. Candidates whose length alone differs by more are skipped, so a 60 KB
 * word costs nothing.
 */
export function suggestFrom(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const limit = Math.max(1, Math.floor(word.length / 3));
  for (const candidate of candidates) {
    if (Math.abs(word.length - candidate.length) > limit) continue;
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance > 0 && bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
