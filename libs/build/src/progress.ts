/**
 * Progress in BuildKit's plain style, one line at a time:
 *
 *   #5 [2/3] RUN make
 *   #5 0.512 compiling…
 *   #5 DONE 0.6s
 *
 *   #6 [3/3] COPY app /app
 *   #6 CACHED
 *
 * Each step ("vertex") gets the next number; a blank line separates vertices.
 */
export class ProgressWriter {
  #next = 1;
  #emit: (line: string) => void;

  constructor(emit: (line: string) => void) {
    this.#emit = emit;
  }

  /** Starts a vertex and prints its title. */
  vertex(title: string): Vertex {
    const n = this.#next++;
    if (n > 1) this.#emit('');
    this.#emit(`#${n} ${title}`);
    return new Vertex(n, this.#emit);
  }
}

export class Vertex {
  readonly #started = process.hrtime.bigint();
  #ended = false;

  constructor(
    readonly number: number,
    private readonly emit: (line: string) => void,
  ) {}

  /** Output of the step (a RUN's stdout/stderr), prefixed with the seconds since the step began. */
  output(text: string): void {
    const elapsed = this.#seconds().toFixed(3);
    for (const line of text.replace(/\n$/, '').split('\n')) this.emit(`#${this.number} ${elapsed} ${line}`);
  }

  /** A status line without timing (`exporting layers done`). */
  status(text: string): void {
    this.emit(`#${this.number} ${text}`);
  }

  cached(): void {
    if (this.#end()) this.emit(`#${this.number} CACHED`);
  }

  done(): void {
    if (this.#end()) this.emit(`#${this.number} DONE ${this.#seconds().toFixed(1)}s`);
  }

  error(message: string): void {
    if (this.#end()) this.emit(`#${this.number} ERROR: ${message}`);
  }

  #end(): boolean {
    if (this.#ended) return false;
    this.#ended = true;
    return true;
  }

  #seconds(): number {
    return Number(process.hrtime.bigint() - this.#started) / 1e9;
  }
}
