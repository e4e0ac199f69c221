import type { Readable } from 'node:stream';
import { isIndexType } from '@berth/oci';
import { accepts, parseAccept, parseManifest } from '../manifest.js';
import { RegistryError } from '../registry-error.js';
import { requireDeleteEnabled } from './blobs.js';
import { queryAll, type HandlerContext } from './context.js';

/** Manifests above this size are refused with 413, as the spec suggests (it asks for at least 4 MB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** The platform served to clients that cannot read an index (registry:2 does the same). */
const DEFAULT_PLATFORM = { os: 'linux', architecture: 'amd64' };

/**
 * GET / HEAD `/v2/<name>/manifests/<tag-or-digest>` with content negotiation: the manifest is served
 * as stored when the Accept header allows its media type (or there is none). An index asked for by
 * a client that only accepts image manifests is replaced by its linux/amd64 child; anything else
 * the client cannot read is `MANIFEST_UNKNOWN`.
 */
export async function getManifest(ctx: HandlerContext, name: string, reference: string): Promise<void> {
  const { storage, request, reply } = ctx;
  await ctx.proxy?.refreshManifest(name, reference);
  let stored = await storage.getManifest(name, reference);
  const accepted = parseAccept(request.headers.accept);
  if (!accepts(accepted, stored.mediaType)) {
    const child =
      isIndexType(stored.mediaType)
        ? parseManifest(stored.body).manifests.find(
            (m) =>
              m.platform?.os === DEFAULT_PLATFORM.os && m.platform?.architecture === DEFAULT_PLATFORM.architecture && accepts(accepted, m.mediaType),
          )
        : undefined;
    if (child === undefined) {
      throw new RegistryError(
        'MANIFEST_UNKNOWN',
        `Manifest "${reference}" is a "${stored.mediaType}", which the Accept header (${accepted!.join(', ')}) does not allow`,
        { detail: { mediaType: stored.mediaType, accept: accepted } },
      );
    }
    await ctx.proxy?.refreshManifest(name, child.digest);
    stored = await storage.getManifest(name, child.digest);
  }
  reply
    .code(200)
    .type(stored.mediaType)
    .header('docker-content-digest', stored.digest)
    .header('etag', `"${stored.digest}"`)
    .header('content-length', stored.body.length);
  return request.method === 'HEAD' ? reply.send() : reply.send(stored.body);
}

/**
 * PUT `/v2/<name>/manifests/<tag-or-digest>[?tag=a&tag=b]`: stores the exact bytes, answers 201
 * with Location, Docker-Content-Digest, `OCI-Subject` when the manifest has a subject and
 * `OCI-Tag` for tags given as query parameters.
 */
export async function putManifest(ctx: HandlerContext, name: string, reference: string): Promise<void> {
  const { storage, request, reply } = ctx;
  const body = await readLimited(request.raw, MAX_MANIFEST_BYTES);
  const queryTags = queryAll(ctx.query, 'tag');
  const { digest, manifest, tags } = await storage.putManifest(name, reference, body, {
    contentType: request.headers['content-type'],
    tags: reference.includes(':') ? queryTags : [],
  });
  ctx.events?.notify({ action: 'push', repository: name, digest, mediaType: manifest.mediaType, tags });
  reply.code(201).header('location', `/v2/${name}/manifests/${digest}`).header('docker-content-digest', digest).header('content-length', 0);
  if (manifest.subject !== undefined) reply.header('oci-subject', manifest.subject.digest);
  if (reference.includes(':') && queryTags.length > 0) reply.header('oci-tag', queryTags.join(', '));
  reply.send();
}

/** DELETE `/v2/<name>/manifests/<tag-or-digest>` (202): a tag alone, or a manifest and its tags. */
export async function deleteManifest(ctx: HandlerContext, name: string, reference: string): Promise<void> {
  requireDeleteEnabled(ctx);
  const { digest, tags } = await ctx.storage.deleteManifest(name, reference);
  ctx.events?.notify(
    reference.includes(':')
      ? { action: 'delete', repository: name, digest, tags }
      : { action: 'delete', repository: name, digest, tag: reference, tags },
  );
  ctx.reply.code(202).header('content-length', 0).send();
}

async function readLimited(source: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of source) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      source.resume();
      throw new RegistryError('SIZE_INVALID', `Manifest too large: more than ${limit} bytes`, { status: 413, detail: { limit } });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
