import type { Writable } from 'node:stream';

/** A step of the build as the live view shows it. */
interface ViewVertex {
  number: number;
  title: string;
  startedAt: number;
  state: 'running' | 'done' | 'cached' | 'error';
  /** Seconds, once ended. */
  duration?: number;
  logs: string[];
  error?: string;
}

/** Log lines shown under a running step. */
const LOG_TAIL = 6;

/**
 * `--progress=tty`: BuildKit's live view, drawn from the plain progress lines the builder streams.
 *
 *   [+] Building 2.3s (5/7)
 *    => [internal] load build definition from Dockerfile          0.0s
 *    => CACHED [2/4] COPY app /app                                0.0s
 *    => [3/4] RUN make                                            1.2s
 *    => => # compiling main.c
 *
 * The view is redrawn in place (cursor up, clear to the end) at most every `intervalMs` while
 * lines arrive, and once more by `finish()`, which then prints the output of a failed step and the
 * lines that were not progress (warnings).
 */
export class TtyBuildProgress {
  readonly #out: Writable;
  readonly #now: () => number;
  readonly #columns: number;
  readonly #started: number;
  readonly #vertices = new Map<number, ViewVertex>();
  readonly #messages: string[] = [];
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;

  constructor(out: Writable, options: { now?: () => number; columns?: number; intervalMs?: number } = {}) {
    this.#out = out;
    this.#now = options.now ?? Date.now;
    this.#columns = Math.max(40, options.columns ?? 80);
    this.#started = this.#now();
    if ((options.intervalMs ?? 100) > 0) {
      this.#timer = setInterval(() => this.#draw(false), options.intervalMs ?? 100);
      this.#timer.unref();
    }
  }

  /** Takes one plain progress line (`#5 [2/3] RUN make`, `#5 DONE 0.6s`, `#5 0.12 output`…). */
  line(text: string): void {
    this.#dirty = true;
    const m = /^#(\d+) (.*)$/.exec(text);
    if (!m) {
      if (text !== '') this.#messages.push(text);
      return;
    }
    const n = Number(m[1]);
    const rest = m[2]!;
    const v = this.#vertices.get(n);
    if (!v) {
      this.#vertices.set(n, { number: n, title: rest, startedAt: this.#now(), state: 'running', logs: [] });
      return;
    }
    let s: RegExpExecArray | null;
    if ((s = /^DONE (\d+(?:\.\d+)?)s$/.exec(rest))) {
      v.state = 'done';
      v.duration = Number(s[1]);
    } else if (rest === 'CACHED') {
      v.state = 'cached';
      v.duration = 0;
    } else if (rest.startsWith('ERROR: ')) {
      v.state = 'error';
      v.error = rest.slice('ERROR: '.length);
      v.duration = (this.#now() - v.startedAt) / 1000;
    } else if ((s = /^\d+\.\d{3} (.*)$/.exec(rest))) {
      v.logs.push(s[1]!);
    } else {
      v.logs.push(rest);
    }
  }

  /** The view as text (without cursor movements). */
  render(final = false): string {
    const vertices = [...this.#vertices.values()];
    const ended = vertices.filter((v) => v.state !== 'running').length;
    const elapsed = ((this.#now() - this.#started) / 1000).toFixed(1);
    const lines = [`[+] Building ${elapsed}s (${ended}/${vertices.length})${final ? ' FINISHED' : ''}`];
    for (const v of vertices) {
      const prefix = v.state === 'cached' ? 'CACHED ' : v.state === 'error' ? 'ERROR ' : '';
      const seconds = `${(v.duration ?? (this.#now() - v.startedAt) / 1000).toFixed(1)}s`;
      lines.push(this.#fit(` => ${prefix}${v.title}`, seconds));
      if (v.state === 'running' && !final) for (const log of v.logs.slice(-LOG_TAIL)) lines.push(this.#clip(` => => # ${log}`));
    }
    return `${lines.join('\n')}\n`;
  }

  /** Draws the final view, then the output of failed steps and the other messages. */
  finish(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#dirty = true;
    this.#draw(true);
    for (const v of this.#vertices.values()) {
      if (v.state !== 'error') continue;
      const body = [`------`, ` > ${v.title}:`, ...v.logs.slice(-10).map((l) => `#${v.number} ${l}`), `------`];
      this.#out.write(`${body.join('\n')}\n`);
    }
    for (const m of this.#messages) this.#out.write(`${m}\n`);
  }

  #draw(final: boolean): void {
    if (!this.#dirty && !final) return;
    this.#dirty = false;
    const text = this.render(final);
    const clear = this.#drawn > 0 ? `\x1b[${this.#drawn}F\x1b[J` : '';
    this.#out.write(clear + text);
    this.#drawn = text.split('\n').length - 1;
  }

  /** `left` and `right` on one line of the terminal's width, `left` cut short if needed. */
  #fit(left: string, right: string): string {
    const room = this.#columns - right.length - 1;
    const l = left.length > room ? `${left.slice(0, room - 3)}...` : left;
    return `${l}${' '.repeat(Math.max(1, this.#columns - l.length - right.length))}${right}`;
  }

  #clip(text: string): string {
    return text.length > this.#columns ? text.slice(0, this.#columns) : text;
  }
}
