// fs.promises, not node:fs/promises: that module loads 10 more of Node's (fs/promises, readline,
// the file watchers) as it is imported, in every command that imports this file (`ps`, `inspect`);
// fs.promises is loaded when first used (a `save -o`).
import { createWriteStream, promises as fsp } from 'node:fs';
import { once } from 'node:events';
import type { Filter, RemovedImageItem } from '@berth/proto';
import { isBerthError } from '@berth/errors';
import { daemonMessage, StatusError } from '../cli-errors.js';
import { printErr, printOut, type CommandContext } from '../context.js';

/** Helpers the command handlers share (output, per-object loops, prompts, file streaming). */

export function out(ctx: CommandContext, text: string): void {
  printOut(ctx.io, text);
}

export function errOut(ctx: CommandContext, text: string): void {
  printErr(ctx.io, text);
}

/** `key=value` words (already validated by the flag parser) as the proto's filters. */
export function toFilters(words: string[]): Filter[] {
  return words.map((w) => {
    const eq = w.indexOf('=');
    return { key: w.slice(0, eq).trim().toLowerCase(), value: w.slice(eq + 1) };
  });
}

/**
 * Runs `fn` for each named object as docker's stop/rm/kill/... do: prints what `fn` returns (the
 * name as given, by default) on success, keeps going on failure, and ends with the collected
 * errors (`Error response from daemon: No such container: x`, one per line) and exit status 1.
 */
export async function forEachObject(
  ctx: CommandContext,
  names: string[],
  fn: (name: string) => Promise<string | undefined | void>,
): Promise<number> {
  const errors: string[] = [];
  for (const name of names) {
    try {
      const line = await fn(name);
      if (line !== undefined) out(ctx, `${line}\n`);
    } catch (err) {
      if (!isBerthError(err)) throw err;
      errors.push(daemonMessage(err, ctx.host));
    }
  }
  if (errors.length > 0) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

/** forEachObject for the commands that print each name once its one call succeeds (stop, kill, rm, …). */
export function forEachName(ctx: CommandContext, names: string[], call: (name: string) => Promise<unknown>): Promise<number> {
  return forEachObject(ctx, names, async (name) => {
    await call(name);
    return name;
  });
}

/** docker's prune prompt: `<warning>\nAre you sure you want to continue? [y/N] `, yes only for y/yes. */
export async function confirm(ctx: CommandContext, warning: string): Promise<boolean> {
  out(ctx, `${warning}\nAre you sure you want to continue? [y/N] `);
  const stdin = ctx.io.stdin;
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      if (text.includes('\n')) finish();
    };
    const finish = () => {
      stdin.off('data', onData);
      stdin.off('end', finish);
      stdin.pause();
      resolve(text.split('\n')[0]!.trim());
    };
    stdin.on('data', onData);
    stdin.once('end', finish);
  });
  return /^(y|yes)$/i.test(answer);
}

/** docker's list of pruned objects: the heading, one line each, a blank line; nothing when none. */
export function printDeleted(ctx: CommandContext, heading: string, lines: string[]): void {
  if (lines.length > 0) out(ctx, `${heading}:\n${lines.map((line) => `${line}\n`).join('')}\n`);
}

/** docker's lines of removed images: `Untagged: x` or `Deleted: sha256:…` (rmi), in lower case in the prune lists. */
export function removedLines(items: RemovedImageItem[], lower = false): string[] {
  return items.map((item) => (item.untagged ? `${lower ? 'untagged' : 'Untagged'}: ${item.untagged}` : `${lower ? 'deleted' : 'Deleted'}: ${item.deleted}`));
}

/** docker's refusal to write binary data to a terminal (save, export without -o). */
export function refuseTerminal(ctx: CommandContext): void {
  if (ctx.io.stdout.isTTY) throw new StatusError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
}

/**
 * Writes a stream of chunks to `output` (atomically: a temporary file renamed at the end, removed on
 * failure) or, without it, to stdout, honouring backpressure.
 */
export async function writeChunks(ctx: CommandContext, chunks: AsyncIterable<{ data: Buffer }>, output: string): Promise<void> {
  if (!output) {
    refuseTerminal(ctx);
    for await (const { data } of chunks) {
      if (!ctx.io.stdout.write(data)) await once(ctx.io.stdout, 'drain');
    }
    return;
  }
  const temp = `${output}.${process.pid}.tmp`;
  const file = createWriteStream(temp);
  try {
    for await (const { data } of chunks) {
      if (!file.write(data)) await once(file, 'drain');
    }
    file.end();
    await once(file, 'finish');
    await fsp.rename(temp, output);
  } catch (err) {
    file.destroy();
    await fsp.unlink(temp).catch(() => undefined); // never created, or gone: the write's error is what is reported
    throw err;
  }
}

/** Indents JSON as Go's json.MarshalIndent with 4 spaces does, HTML characters escaped. */
export function goJson(value: unknown): string {
  return JSON.stringify(value, null, 4)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026');
}
