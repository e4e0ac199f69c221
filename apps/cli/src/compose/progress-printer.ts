import type { Writable } from 'node:stream';
import type { ProgressEvent } from '@berth/compose-controller';

/**
 * Prints the controller's progress as compose v2 does on stderr. Without a terminal (compose's
 * plain progress) every step is a line, ` Container p-web-1  Starting` then
 * ` Container p-web-1  Started`; on a terminal only the outcome of each step is printed, marked
 * ` ✔ ` (done) or ` ✘ ` (failed), with the time the step took.
 */
export class ProgressPrinter {
  private readonly began = new Map<string, number>();

  constructor(
    private readonly out: Writable & { isTTY?: boolean },
    private readonly options: { quiet?: boolean } = {},
  ) {}

  readonly event = (e: ProgressEvent): void => {
    if (this.options.quiet) return;
    const id = `${e.kind} ${e.name}`;
    const detail = e.detail ? ` ${e.detail}` : '';
    if (!this.out.isTTY) {
      this.out.write(` ${id}  ${e.status}${detail}\n`);
      return;
    }
    if (!e.done) {
      if (!this.began.has(id)) this.began.set(id, Date.now());
      return;
    }
    const began = this.began.get(id);
    this.began.delete(id);
    const took = began === undefined ? '' : `  ${((Date.now() - began) / 1000).toFixed(1)}s`;
    const mark = e.error ? '\x1b[31m✘\x1b[0m' : '\x1b[32m✔\x1b[0m';
    this.out.write(` ${mark} ${id}  ${e.status}${detail}${took}\n`);
  };
}

/**
 * A build's progress line with the service named in its step, as compose's plain build output
 * has it: `#5 [2/3] RUN make` → `#5 [web 2/3] RUN make`.
 */
export function serviceBuildLine(service: string, line: string): string {
  return line.replace(/^(#\d+ )\[/, `$1[${service} `);
}
