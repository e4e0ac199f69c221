/**
 * The lines of a Dockerfile around an error, framed as BuildKit's clients print them above
 * `ERROR: failed to solve: …`:
 *
 *   Dockerfile:3
 *   --------------------
 *      1 |     FROM busybox
 *      2 |     RUN true
 *      3 | >>> FORM x
 *   --------------------
 *
 * Two lines of context are shown on each side of a multi-line instruction, four around a single line
 * (when the file has them). Lines longer than `width` characters are cut with `…` (BuildKit prints
 * them whole; a generated 60 KB line would drown the error).
 */
export function sourceExcerpt(text: string, where: { file: string; line: number; endLine?: number }, options: { width?: number } = {}): string {
  const width = options.width ?? 200;
  const lines = text.split('\n');
  const first = where.line;
  let last = Math.min(Math.max(where.endLine ?? first, first), lines.length);
  if (first < 1 || first > lines.length) return '';
  let start = first;
  const pad = last === first ? 4 : 2;
  for (let added = 0; added < pad; added++) {
    if (start > 1) {
      start--;
      added++;
    }
    if (last < lines.length) {
      last++;
      added++;
    }
  }
  const out = [`${where.file}:${first}`, '--------------------'];
  const endLine = Math.max(where.endLine ?? first, first);
  for (let n = start; n <= last; n++) {
    let line = lines[n - 1]!.replace(/\r$/, '');
    if (line.length > width) line = `${line.slice(0, width)}…`;
    const marker = n >= first && n <= endLine ? '>>>' : '   ';
    out.push(` ${String(n).padStart(3)} | ${marker} ${line}`);
  }
  out.push('--------------------');
  return out.join('\n');
}
