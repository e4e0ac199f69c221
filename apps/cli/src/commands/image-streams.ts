import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { ClientWritableStream, ServiceError } from '@grpc/grpc-js';
import { fromServiceError, serverStream, type DataChunk, type ImageSummary, type ImportImageChunk, type LoadImagesResponse, ImagesClient } from '@berth/proto';
import { StatusError } from '../cli-errors.js';
import { client } from '../clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, list } from '../flag-values.js';
import { out, refuseTerminal, writeChunks } from './shared.js';

/** The image commands that stream (import, save, load: tars; bootstrap: progress), over grpc-js (clients.ts). */

const chunkSize = 256 * 1024;

/** Streams `messages` on a client-streaming call and resolves with the server's answer. */
function clientStream<Req, Res>(
  start: (callback: (err: ServiceError | null, res?: Res) => void) => ClientWritableStream<Req>,
  messages: AsyncIterable<Req>,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    let failed = false;
    const call = start((err, res) => {
      if (err) {
        failed = true;
        reject(fromServiceError(err));
      } else resolve(res!);
    });
    (async () => {
      for await (const message of messages) {
        if (failed) return;
        if (!call.write(message)) await once(call, 'drain');
      }
      call.end();
    })().catch((err: unknown) => {
      failed = true;
      call.cancel();
      reject(err);
    });
  });
}

/** A local file (checked first, so a missing one reads as docker's `open x: no such file or directory`) or stdin. */
async function openInput(ctx: CommandContext, file: string): Promise<Readable> {
  if (file === '' || file === '-') return ctx.io.stdin;
  try {
    await stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new StatusError(`open ${file}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`, 1);
  }
  return createReadStream(file, { highWaterMark: chunkSize });
}

async function* chunks(input: Readable): AsyncGenerator<Buffer> {
  for await (const chunk of input) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    for (let i = 0; i < buffer.length; i += chunkSize) yield buffer.subarray(i, i + chunkSize);
  }
}

export async function importImage(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const [source, ref = ''] = p.args as [string, string?];
  if (/^https?:\/\//.test(source)) throw new StatusError(`Error: importing from a URL is not supported: download "${source}" and import the file`, 1);
  const input = await openInput(ctx, source);
  const c = client(ctx, ImagesClient);
  async function* messages(): AsyncGenerator<ImportImageChunk> {
    yield { part: { $case: 'options', value: { ref, changes: list(p, 'change'), message: str(p, 'message') } } };
    for await (const data of chunks(input)) yield { part: { $case: 'data', value: data } };
  }
  const summary = await clientStream<ImportImageChunk, ImageSummary>((cb) => c.import(cb), messages());
  out(ctx, `${summary.id}\n`);
  return 0;
}

export async function save(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const output = str(p, 'output');
  if (!output) refuseTerminal(ctx);
  const c = client(ctx, ImagesClient);
  const call = c.save({ refs: p.args });
  ctx.cleanup.push(() => call.cancel());
  await writeChunks(ctx, serverStream(call), output);
  return 0;
}

export async function load(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const file = str(p, 'input');
  if (!file && ctx.io.stdin.isTTY) throw new StatusError('requested load from stdin, but stdin is empty', 1);
  const input = await openInput(ctx, file);
  const c = client(ctx, ImagesClient);
  async function* messages(): AsyncGenerator<DataChunk> {
    for await (const data of chunks(input)) yield { data };
  }
  const res = await clientStream<DataChunk, LoadImagesResponse>((cb) => c.load(cb), messages());
  out(ctx, res.loaded.map((line) => `${line}\n`).join(''));
  return 0;
}

export async function bootstrap(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const [kind, ref = ''] = p.args as [string, string?];
  if (kind !== 'busybox' && kind !== 'debian') {
    throw new StatusError(`Error: cannot bootstrap "${kind}": the base images Berth can make are busybox and debian`, 1);
  }
  const c = client(ctx, ImagesClient);
  const call = c.bootstrap({ kind, ref });
  ctx.cleanup.push(() => call.cancel());
  let imageId = '';
  let printedId = false;
  for await (const message of serverStream(call)) {
    if (message.message) {
      out(ctx, `${message.message.replace(/\n$/, '')}\n`);
      if (message.imageId && message.message.includes(message.imageId)) printedId = true;
    }
    if (message.imageId) imageId = message.imageId;
  }
  if (imageId && !printedId) out(ctx, `${imageId}\n`);
  return 0;
}
