import type { OutgoingHttpHeaders } from 'node:http';
import { RegistryError } from '../registry-error.js';
import { sendFileRange } from './send-file.js';
import type { ChunkRange } from '../storage/filesystem-storage.js';
import type { HandlerContext } from './context.js';

/**
 * GET / HEAD `/v2/<name>/blobs/<digest>`, with single-range `Range` support (206 / 416). HEAD is
 * answered from two stat(2)s; GET opens the file once and writes it to the socket itself
 * (send-file.ts), bypassing fastify's stream piping.
 */
export async function getBlob(ctx: HandlerContext, name: string, digest: string): Promise<void> {
  const { reply, request, storage } = ctx;
  if (ctx.proxy !== undefined && !(await storage.hasBlob(name, digest))) {
    if (request.method === 'GET') return sendFromUpstream(ctx, name, digest);
    await ctx.proxy.cacheBlob(name, digest);
  }
  reply
    .header('docker-content-digest', digest)
    .header('etag', `"${digest}"`)
    .header('accept-ranges', 'bytes')
    .header('cache-control', 'max-age=31536000')
    .type('application/octet-stream');
  if (request.method === 'HEAD') {
    const { size } = await storage.statBlob(name, digest);
    return reply.code(200).header('content-length', size).send();
  }
  const { size, file } = await storage.openBlob(name, digest);
  let range: ChunkRange | 'unsatisfiable' | undefined;
  try {
    range = parseRange(request.headers.range, size);
    if (range === 'unsatisfiable') {
      throw new RegistryError('BLOB_UNKNOWN', `Range "${request.headers.range}" is not satisfiable for blob "${digest}" of ${size} bytes`, {
        status: 416,
        detail: { digest, size },
        headers: { 'content-range': `bytes */${size}` },
      });
    }
    if (range !== undefined) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
    else reply.code(200);
    reply.header('content-length', range !== undefined ? range.end - range.start + 1 : size);
    if (size === 0) {
      await file.close();
      return reply.send('');
    }
  } catch (err) {
    await file.close();
    throw err;
  }
  reply.hijack();
  reply.raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
  await sendFileRange(reply.raw, file, range ?? { start: 0, end: size - 1 });
}

/**
 * Pull-through cache miss: the upstream's bytes go to the client as they arrive (a Range header
 * is ignored: 200 with the whole blob) while the cache stores them.
 */
async function sendFromUpstream(ctx: HandlerContext, name: string, digest: string): Promise<void> {
  const blob = await ctx.proxy!.fetchBlob(name, digest);
  ctx.reply
    .code(200)
    .header('docker-content-digest', digest)
    .header('etag', `"${digest}"`)
    .header('cache-control', 'max-age=31536000')
    .type('application/octet-stream');
  if (blob.size !== undefined) ctx.reply.header('content-length', blob.size);
  return ctx.reply.send(blob.stream);
}

/** DELETE `/v2/<name>/blobs/<digest>`: unlinks the blob from the repository (bytes go at gc). */
export async function deleteBlob(ctx: HandlerContext, name: string, digest: string): Promise<void> {
  requireDeleteEnabled(ctx);
  await ctx.storage.deleteBlob(name, digest);
  ctx.reply.code(202).header('content-length', 0).send();
}

export function requireDeleteEnabled(ctx: HandlerContext): void {
  if (!ctx.deleteEnabled) {
    throw new RegistryError('UNSUPPORTED', 'Deletion is disabled on this registry: start it with --delete-enabled', { status: 405 });
  }
}

/**
 * Parses a single `bytes=` range (RFC 9110 14.1.2) against a blob size. Undefined means "serve
 * everything" (no header, or a form we choose to ignore such as multiple ranges).
 */
export function parseRange(header: string | undefined, size: number): ChunkRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}
