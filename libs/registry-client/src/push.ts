import { createReadStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import type { ContentStore } from '@berth/content';
import { FailedPreconditionError, InvalidArgumentError, isBerthError, UnavailableError } from '@berth/errors';
import { type Descriptor, digestOf, isIndexType, type Reference, shortId, validateIndex, validateManifest } from '@berth/oci';
import { discard, type HttpResponse } from './http-request.js';
import { forEachLimit } from './limit.js';
import { throttle, type ProgressListener, type PushStatus } from './progress.js';
import { manifestMediaType } from './manifest-media-type.js';
import type { BlobTarget } from './registry-api.js';
import { registryError } from './registry-errors.js';
import { pullScope, pushScope } from './scopes.js';

/** The part of a content store a push reads (`path` only for chunked uploads). */
export type PushStore = Pick<ContentStore, 'info' | 'read' | 'createReadStream' | 'path'>;

export interface PushOptions {
  /** Where the manifest and its blobs are. */
  store: PushStore;
  /** The manifest (or index) to push, by digest in the store... */
  manifestDigest?: string;
  /** ...or as its exact bytes (its blobs must be in the store). */
  manifest?: Buffer;
  /**
   * A repository on the same registry that probably has the blobs (`library/busybox`, or
   * `host/library/busybox`): missing blobs are first mounted from it (`?mount=&from=`).
   */
  mountFrom?: string;
  onProgress?: ProgressListener<PushStatus>;
  /** Blobs uploaded at once (default 3). */
  concurrency?: number;
  /** Upload blobs larger than this in PATCH chunks of this size; default: one streamed PUT each. */
  chunkSize?: number;
}

export interface PushResult {
  reference: Reference;
  /** The tag pushed (undefined when pushed by digest only). */
  tag?: string;
  /** The manifest's digest and size. */
  digest: string;
  size: number;
  mediaType: string;
  /** Docker's last line: `latest: digest: sha256:… size: 528`. */
  status: string;
  /** Counts over distinct blobs (configs included). */
  blobsPushed: number;
  blobsExisting: number;
  blobsMounted: number;
  bytesUploaded: number;
}

interface Counters {
  pushed: number;
  existing: number;
  mounted: number;
  bytes: number;
}

/**
 * The push flow: for each blob of the manifest (config and layers, in parallel): HEAD → exists;
 * else mount from `mountFrom` → mounted; else upload (POST + streamed PUT, or PATCH chunks + PUT);
 * then PUT the manifest by tag (or digest). An index pushes each of its manifests (which must be
 * in the store) by digest first. The registry's Docker-Content-Digest must match ours.
 */
export async function pushImage(client: BlobTarget, ref: Reference, options: PushOptions): Promise<PushResult> {
  const { store } = options;
  if ((options.manifest === undefined) === (options.manifestDigest === undefined)) {
    throw new InvalidArgumentError('Cannot push: give exactly one of "manifest" (bytes) and "manifestDigest"');
  }
  const bytes = options.manifest ?? (await readStored(store, options.manifestDigest!, ref, 'manifest'));
  const digest = digestOf(bytes);
  if (options.manifestDigest !== undefined && options.manifestDigest !== digest) {
    throw new InvalidArgumentError(`Cannot push "${ref.familiar()}": manifest "${options.manifestDigest}" in the store has digest "${digest}"`);
  }
  if (ref.digest !== undefined && ref.digest !== digest) {
    throw new InvalidArgumentError(`Cannot push "${ref.familiar()}": the manifest's digest is "${digest}"`);
  }
  const counters: Counters = { pushed: 0, existing: 0, mounted: 0, bytes: 0 };
  const mediaType = manifestMediaType(undefined, bytes);
  const mountFrom = options.mountFrom?.startsWith(`${ref.domain}/`) ? options.mountFrom.slice(ref.domain.length + 1) : options.mountFrom;
  const flow = { ...options, mountFrom };
  if (isIndexType(mediaType)) {
    const index = validateIndex(JSON.parse(bytes.toString('utf8')));
    for (const child of index.manifests) {
      const childBytes = await readStored(store, child.digest, ref, 'manifest');
      await pushBlobsOf(client, ref, childBytes, flow, counters);
      await putManifest(client, ref, child.digest, childBytes, manifestMediaType(undefined, childBytes));
    }
  } else {
    await pushBlobsOf(client, ref, bytes, flow, counters);
  }
  const target = ref.tag ?? digest;
  await putManifest(client, ref, target, bytes, mediaType);
  return {
    reference: ref,
    ...(ref.tag ? { tag: ref.tag } : {}),
    digest,
    size: bytes.length,
    mediaType,
    status: `${ref.tag ?? digest}: digest: ${digest} size: ${bytes.length}`,
    blobsPushed: counters.pushed,
    blobsExisting: counters.existing,
    blobsMounted: counters.mounted,
    bytesUploaded: counters.bytes,
  };
}

async function pushBlobsOf(client: BlobTarget, ref: Reference, bytes: Buffer, options: PushOptions, counters: Counters): Promise<void> {
  const manifest = validateManifest(JSON.parse(bytes.toString('utf8')));
  const emit = options.onProgress ?? (() => undefined);
  const layers = [...new Map(manifest.layers.filter((l) => !isForeign(l)).map((l) => [l.digest, l])).values()];
  for (const l of layers) emit({ id: shortId(l.digest), status: 'Preparing' });
  const blobs = [manifest.config, ...layers.filter((l) => l.digest !== manifest.config.digest)];
  await forEachLimit(blobs, options.concurrency ?? 3, async (desc) => {
    const isLayer = desc !== manifest.config;
    const id = shortId(desc.digest);
    const progress = throttle(100, (current) => isLayer && emit({ id, status: 'Pushing', current, total: desc.size }));
    const outcome = await pushBlob(client, ref, desc, options, (n, final) => progress(n, final));
    if (outcome === 'exists') counters.existing++;
    else if (outcome === 'mounted') counters.mounted++;
    else {
      counters.pushed++;
      counters.bytes += desc.size;
    }
    if (isLayer) {
      emit({
        id,
        status: outcome === 'exists' ? 'Layer already exists' : outcome === 'mounted' ? `Mounted from ${options.mountFrom}` : 'Pushed',
      });
    }
  });
}

/** Foreign / non-distributable layers (with URLs) are not pushed, as Docker does. */
function isForeign(d: Descriptor): boolean {
  return (d.urls?.length ?? 0) > 0 && /nondistributable|foreign/.test(d.mediaType);
}

/** Pushes one blob unless the repository has it; returns what happened. */
export async function pushBlob(
  client: BlobTarget,
  ref: Reference,
  desc: Descriptor,
  options: Pick<PushOptions, 'store' | 'mountFrom' | 'chunkSize'>,
  onBytes: (sent: number, final?: boolean) => void = () => undefined,
): Promise<'exists' | 'mounted' | 'pushed'> {
  const { store } = options;
  const scopes = [pushScope(ref.path)];
  const stored = await store.info(desc.digest).catch((err) => {
    if (isBerthError(err) && err.kind === 'not-found') {
      throw new FailedPreconditionError(`Cannot push "${ref.familiar()}": blob "${desc.digest}" is not in the content store`, { cause: err });
    }
    throw err;
  });
  if (stored.size !== desc.size) {
    throw new FailedPreconditionError(`Cannot push "${ref.familiar()}": blob "${desc.digest}" has ${stored.size} bytes, the manifest says ${desc.size}`);
  }
  if (await client.hasBlob(ref, desc.digest, { scopes })) return 'exists';

  const transport = client.transport;
  const uploads = `/v2/${ref.path}/blobs/uploads/`;
  let res: HttpResponse;
  if (options.mountFrom && options.mountFrom !== ref.path) {
    res = await transport.request(ref.domain, {
      method: 'POST',
      path: `${uploads}?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(options.mountFrom)}`,
      headers: { 'content-length': 0 },
      scopes: [...scopes, pullScope(options.mountFrom)],
    });
    if (res.status === 201) {
      discard(res);
      return 'mounted';
    }
  } else {
    res = await transport.request(ref.domain, { method: 'POST', path: uploads, headers: { 'content-length': 0 }, scopes });
  }
  if (res.status !== 202) throw await registryError(res, `Cannot push "${ref.familiar()}": starting the upload of "${desc.digest}" failed`);
  discard(res);
  let location = uploadLocation(res, ref);

  if (options.chunkSize !== undefined && options.chunkSize > 0 && desc.size > options.chunkSize) {
    let sentBefore = 0;
    for (let start = 0; start < desc.size; start += options.chunkSize) {
      const end = Math.min(start + options.chunkSize, desc.size) - 1;
      const file = store.path(desc.digest);
      const base = sentBefore;
      res = await transport.request(ref.domain, {
        method: 'PATCH',
        path: location,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end}`, 'content-length': end - start + 1 },
        body: () => counting(createReadStream(file, { start, end }), (n) => onBytes(base + n)),
        scopes,
      });
      if (res.status !== 202) throw await registryError(res, `Cannot push "${ref.familiar()}": uploading bytes ${start}-${end} of "${desc.digest}" failed`);
      discard(res);
      sentBefore = end + 1;
      location = uploadLocation(res, ref);
    }
    res = await transport.request(ref.domain, { method: 'PUT', path: withQuery(location, 'digest', desc.digest), headers: { 'content-length': 0 }, scopes });
  } else {
    res = await transport.request(ref.domain, {
      method: 'PUT',
      path: withQuery(location, 'digest', desc.digest),
      headers: { 'content-type': 'application/octet-stream', 'content-length': desc.size },
      body: () => counting(store.createReadStream(desc.digest), onBytes),
      scopes,
    });
  }
  if (res.status !== 201) throw await registryError(res, `Cannot push "${ref.familiar()}": uploading "${desc.digest}" failed`);
  discard(res);
  const served = res.headers['docker-content-digest'];
  if (typeof served === 'string' && served !== desc.digest) {
    throw new UnavailableError(`Registry "${ref.domain}" stored blob "${desc.digest}" as "${served}"`);
  }
  onBytes(desc.size, true);
  return 'pushed';
}

async function putManifest(client: BlobTarget, ref: Reference, target: string, bytes: Buffer, mediaType: string): Promise<void> {
  const res = await client.transport.request(ref.domain, {
    method: 'PUT',
    path: `/v2/${ref.path}/manifests/${target}`,
    headers: { 'content-type': mediaType },
    body: bytes,
    scopes: [pushScope(ref.path)],
  });
  if (res.status !== 201) throw await registryError(res, `Cannot push manifest "${target}" of "${ref.familiar()}"`);
  discard(res);
  const served = res.headers['docker-content-digest'];
  const digest = digestOf(bytes);
  if (typeof served === 'string' && served.startsWith('sha256:') && served !== digest) {
    throw new UnavailableError(`Registry "${ref.domain}" stored manifest "${target}" as "${served}", expected "${digest}"`);
  }
}

async function readStored(store: PushStore, digest: string, ref: Reference, what: string): Promise<Buffer> {
  try {
    return await store.read(digest);
  } catch (err) {
    if (isBerthError(err) && err.kind === 'not-found') {
      throw new FailedPreconditionError(`Cannot push "${ref.familiar()}": ${what} "${digest}" is not in the content store`, { cause: err });
    }
    throw err;
  }
}

function uploadLocation(res: HttpResponse, ref: Reference): string {
  const location = res.headers.location;
  if (typeof location !== 'string' || location === '') {
    throw new UnavailableError(`Registry "${ref.domain}" started an upload without a Location header`);
  }
  return location;
}

/** Adds a query parameter to an absolute or origin-relative URL, keeping its other parameters. */
export function withQuery(location: string, key: string, value: string): string {
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(location);
  const url = new URL(location, 'http://relative.invalid');
  url.searchParams.set(key, value);
  return absolute ? url.toString() : `${url.pathname}${url.search}`;
}

function counting(source: Readable, onBytes: (sent: number) => void): Readable {
  let sent = 0;
  const t = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.length;
      onBytes(sent);
      callback(null, chunk);
    },
  });
  source.once('error', (err) => t.destroy(err));
  return source.pipe(t);
}
