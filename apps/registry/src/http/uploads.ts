import { isDigestAlgorithm } from '@berth/oci';
import { parseDigest } from '../digest.js';
import { checkRepositoryName } from '../names.js';
import { RegistryError } from '../registry-error.js';
import { rangeHeader, type ChunkRange, type UploadStatus } from '../storage/filesystem-storage.js';
import { hasBody, queryOne, type HandlerContext } from './context.js';

function uploadLocation(name: string, uuid: string): string {
  return `/v2/${name}/blobs/uploads/${uuid}`;
}

function sendUploadStatus(ctx: HandlerContext, name: string, status: UploadStatus, code: number): void {
  ctx.reply
    .code(code)
    .header('location', uploadLocation(name, status.uuid))
    .header('docker-upload-uuid', status.uuid)
    .header('range', rangeHeader(status.size))
    .header('content-length', 0)
    .send();
}

function sendBlobCreated(ctx: HandlerContext, name: string, digest: string): void {
  ctx.reply.code(201).header('location', `/v2/${name}/blobs/${digest}`).header('docker-content-digest', digest).header('content-length', 0).send();
}

/**
 * POST `/v2/<name>/blobs/uploads/`: `?mount=<digest>&from=<repo>` links a blob the caller may pull
 * from `from` (201), else falls back to a new session; `?digest=<digest>` stores the body in one
 * request (201); otherwise starts a session (202 with Location, Docker-Upload-UUID, Range), hashing
 * with `?digest-algorithm=` (sha256 or sha512, default sha256: another algorithm's closing digest
 * still works, the data is then hashed again at the end).
 */
export async function postUpload(ctx: HandlerContext, name: string): Promise<void> {
  const { storage, query, request, identity } = ctx;
  const mount = queryOne(query, 'mount');
  const from = queryOne(query, 'from');
  if (mount !== undefined && from !== undefined) {
    parseDigest(mount);
    checkRepositoryName(from);
    if (identity.may(from, 'pull')) {
      const mounted = await storage.mountBlob(name, mount, from);
      if (mounted !== undefined) return sendBlobCreated(ctx, name, mounted.digest);
    }
  }
  const digest = queryOne(query, 'digest');
  if (digest !== undefined && mount === undefined) {
    const blob = await storage.putBlob(name, digest, request.raw);
    return sendBlobCreated(ctx, name, blob.digest);
  }
  const algorithm = queryOne(query, 'digest-algorithm') ?? 'sha256';
  if (!isDigestAlgorithm(algorithm)) {
    throw new RegistryError('DIGEST_INVALID', `Unsupported digest-algorithm "${algorithm}": expected sha256 or sha512`, { detail: { algorithm } });
  }
  const status = await storage.startUpload(name, { algorithm });
  sendUploadStatus(ctx, name, status, 202);
}

/** PATCH `<location>`: appends a chunk (`Content-Range: <start>-<end>`, or streamed without it). */
export async function patchUpload(ctx: HandlerContext, name: string, uuid: string): Promise<void> {
  const range = parseContentRange(ctx.request.headers['content-range']);
  const status = await ctx.storage.writeUpload(name, uuid, ctx.request.raw, range);
  sendUploadStatus(ctx, name, status, 202);
}

/** PUT `<location>?digest=<digest>`: closes the session, with an optional final chunk in the body. */
export async function putUpload(ctx: HandlerContext, name: string, uuid: string): Promise<void> {
  const digest = queryOne(ctx.query, 'digest');
  if (digest === undefined) {
    throw new RegistryError('DIGEST_INVALID', 'Missing "digest" query parameter: close an upload with PUT <location>?digest=<digest>');
  }
  parseDigest(digest);
  const range = parseContentRange(ctx.request.headers['content-range']);
  const chunk = hasBody(ctx.request) ? { source: ctx.request.raw, range } : undefined;
  const blob = await ctx.storage.completeUpload(name, uuid, digest, chunk);
  sendBlobCreated(ctx, name, blob.digest);
}

/** GET `<location>`: 204 with the current Range. */
export async function getUpload(ctx: HandlerContext, name: string, uuid: string): Promise<void> {
  sendUploadStatus(ctx, name, await ctx.storage.uploadStatus(name, uuid), 204);
}

/** DELETE `<location>`: cancels the session (204). */
export async function deleteUpload(ctx: HandlerContext, name: string, uuid: string): Promise<void> {
  await ctx.storage.cancelUpload(name, uuid);
  ctx.reply.code(204).send();
}

/**
 * `Content-Range` of a chunk: the spec's `<start>-<end>` (inclusive), also tolerating the RFC 9110
 * form `bytes <start>-<end>/<total|*>` some clients send.
 */
export function parseContentRange(header: string | undefined): ChunkRange | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m || Number(m[2]) < Number(m[1])) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `Invalid Content-Range "${header}": expected "<start>-<end>" (inclusive byte offsets)`);
  }
  return { start: Number(m[1]), end: Number(m[2]) };
}
