import type { Writable } from 'node:stream';
import { serverStream, StreamKind, ContainersClient } from '@berth/proto';
import { client } from '../clients.js';
import type { CommandContext } from '../context.js';

/**
 * Interleaved logs of several containers, as compose v2 prints them (`up` attached, `logs`): each
 * line prefixed by the container's short name (`web-1`) padded to the longest name plus one,
 * then ` | `, in a colour per container on a terminal. Partial lines wait for their end, so two
 * containers' output never mixes within a line.
 */

const palette = ['36', '33', '32', '35', '34', '1;36', '1;33', '1;32', '1;35', '1;34'];

export interface LogPrinterOptions {
  color: boolean;
  prefix: boolean;
  timestamps?: boolean;
}

export class LogPrinter {
  private width = 0;
  private readonly colors = new Map<string, string>();
  private readonly partial = new Map<string, string>();

  constructor(
    private readonly out: Writable,
    private readonly err: Writable,
    private readonly options: LogPrinterOptions,
  ) {}

  /** Registers a name (sets the prefix width and its colour). */
  add(name: string): void {
    if (this.colors.has(name)) return;
    this.colors.set(name, palette[this.colors.size % palette.length]!);
    this.width = Math.max(this.width, name.length + 1);
  }

  private prefix(name: string): string {
    if (!this.options.prefix) return '';
    const text = `${name.padEnd(this.width)} | `;
    return this.options.color ? `\x1b[${this.colors.get(name) ?? '0'}m${text}\x1b[0m` : text;
  }

  /** One chunk of a container's output (`stderr`: goes to stderr, as compose does). */
  write(name: string, data: Buffer | string, options: { stderr?: boolean; time?: string } = {}): void {
    this.add(name);
    const key = `${name}\0${options.stderr ? 2 : 1}`;
    const text = (this.partial.get(key) ?? '') + data.toString();
    const lines = text.split('\n');
    this.partial.set(key, lines.pop()!);
    const stream = options.stderr ? this.err : this.out;
    for (const line of lines) stream.write(`${this.prefix(name)}${this.options.timestamps && options.time ? `${options.time} ` : ''}${line}\n`);
  }

  /** Prints what is left of a container's last line. */
  flush(name: string): void {
    for (const fd of [1, 2]) {
      const key = `${name}\0${fd}`;
      const rest = this.partial.get(key);
      if (rest) (fd === 2 ? this.err : this.out).write(`${this.prefix(name)}${rest}\n`);
      this.partial.delete(key);
    }
  }

  /** A line of compose's own (`web-1 exited with code 0`), uncoloured and unprefixed. */
  status(text: string): void {
    this.out.write(`${text}\n`);
  }
}

/**
 * Streams one container's log into the printer until it ends (the container stopped, without
 * `follow`: the log was read) or `signal` aborts.
 */
export async function streamLogs(
  ctx: CommandContext,
  printer: LogPrinter,
  container: { id: string; label: string },
  options: { follow: boolean; since?: string; until?: string; tail?: string; timestamps?: boolean; signal?: AbortSignal },
): Promise<void> {
  const c = client(ctx, ContainersClient);
  const call = c.logs({
    id: container.id,
    follow: options.follow,
    stdout: true,
    stderr: true,
    since: options.since ?? '',
    until: options.until ?? '',
    tail: options.tail ?? 'all',
    timestamps: options.timestamps ?? false,
  });
  const cancel = () => call.cancel();
  options.signal?.addEventListener('abort', cancel, { once: true });
  try {
    for await (const entry of serverStream(call)) {
      printer.write(container.label, Buffer.from(entry.data), { stderr: entry.stream === StreamKind.STREAM_KIND_STDERR, time: entry.time });
    }
  } catch (err) {
    if (!options.signal?.aborted) throw err;
  } finally {
    options.signal?.removeEventListener('abort', cancel);
    printer.flush(container.label);
  }
}
