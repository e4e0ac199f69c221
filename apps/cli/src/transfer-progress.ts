import type { Writable } from 'node:stream';
import { humanSize } from './units.js';

/**
 * Prints the progress messages of a pull or push the way docker's jsonmessage display does.
 *
 * Not a terminal: one line per message (`<id>: <status>`, or the status alone), progress-only
 * messages (`Downloading`, `Pushing`) left out, so that the output is a stable log:
 *
 *   latest: Pulling from library/busybox
 *   a3ed95caeb02: Pulling fs layer
 *   a3ed95caeb02: Download complete
 *   a3ed95caeb02: Pull complete
 *   Digest: sha256:…
 *
 * A terminal: one line per id, rewritten in place (cursor up, clear line) as its status changes,
 * with a bar for progress; a message without id ends the current group of lines.
 */
export interface ProgressLine {
  id: string;
  status: string;
  current: number;
  total: number;
}

const PROGRESS_ONLY = new Set(['Downloading', 'Pushing', 'Extracting']);

export class TransferProgressPrinter {
  /** Line of each id in the current group, counted from the group's first line. */
  #lines = new Map<string, number>();

  constructor(
    private readonly out: Writable,
    private readonly tty: boolean,
  ) {}

  write(m: ProgressLine): void {
    if (!this.tty) {
      if (PROGRESS_ONLY.has(m.status)) return;
      this.out.write(m.id ? `${m.id}: ${m.status}\n` : `${m.status}\n`);
      return;
    }
    const text = `${m.id ? `${m.id}: ` : ''}${m.status}${m.total > 0 && PROGRESS_ONLY.has(m.status) ? ` ${progressBar(m.current, m.total)}` : ''}`;
    if (!m.id || !/^[0-9a-f]{12}$/.test(m.id)) {
      // Status lines (and "latest: Pulling from …") are not updated later: they end the group.
      this.#lines.clear();
      this.out.write(`${text}\n`);
      return;
    }
    let line = this.#lines.get(m.id);
    if (line === undefined) {
      line = this.#lines.size;
      this.#lines.set(m.id, line);
      this.out.write('\n');
    }
    const up = this.#lines.size - line;
    // Up to the id's line, clear it, write, and back down to below the group.
    this.out.write(`\x1b[${up}A\r\x1b[2K${text}\r\x1b[${up}B`);
  }
}

/** Docker's progress bar: `[=====>        ]  1.2MB/3.4MB`. */
export function progressBar(current: number, total: number, width = 50): string {
  const done = Math.max(0, Math.min(width, Math.floor((current / total) * width)));
  const bar = done >= width ? '='.repeat(width) : `${'='.repeat(done)}>${' '.repeat(width - done - 1)}`;
  return `[${bar}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}
