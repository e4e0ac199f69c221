/**
 * Go's text/tabwriter (the subset docker uses: left-aligned, space padding, no flags), so that
 * tables line up exactly as `docker ps` does. Cells are tab-terminated; the text after the last
 * tab of a line is not part of any column. A column block is a run of consecutive lines that have
 * a cell in that column; each block gets its own width = max(minWidth, widest cell + padding).
 */
export interface TabwriterOptions {
  minWidth: number;
  padding: number;
}

/** docker's table writer: `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`. */
export const dockerTable: TabwriterOptions = { minWidth: 10, padding: 3 };

/** Aligns `text` (lines separated by "\n", cells by "\t"). Keeps a final newline if present. */
export function tabwrite(text: string, options: TabwriterOptions = dockerTable): string {
  const trailingNewline = text.endsWith('\n');
  const lines = (trailingNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const out: string[] = lines.map(() => '');
  const widths: number[] = [];

  const writeLines = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const line = lines[i]!;
      let s = '';
      for (let j = 0; j < line.length; j++) {
        const cell = line[j]!;
        s += cell;
        if (j < widths.length && j < line.length - 1) s += ' '.repeat(Math.max(0, widths[j]! - width(cell)));
      }
      out[i] = s;
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let current = line0; current < line1; current++) {
      if (column >= lines[current]!.length - 1) continue;
      writeLines(line0, current);
      line0 = current;
      let w = options.minWidth;
      for (; current < line1; current++) {
        const line = lines[current]!;
        if (column >= line.length - 1) break;
        w = Math.max(w, width(line[column]!) + options.padding);
      }
      widths.push(w);
      format(line0, current);
      widths.pop();
      line0 = current;
      // (as in Go, the loop's increment skips the line that ended the block: it has no cell here)
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join('\n') + (trailingNewline ? '\n' : '');
}

function width(s: string): number {
  return [...s].length;
}
