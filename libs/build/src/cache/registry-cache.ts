import { createHash } from 'node:crypto';
import { InvalidArgumentError, NotFoundError } from '@berth/errors';
import { type Descriptor, MediaType, type Reference, parseReference } from '@berth/oci';
import type { PushStore, RegistryClient } from '@berth/registry-client';
import type { WorkerContent } from '@berth/worker';
import type { CachedStep } from './build-cache.js';

/** Media type of the config blob of an exported build cache (also the manifest's artifactType). */
export const BUILD_CACHE_MEDIA_TYPE = 'application/vnd.berth.buildcache.v1+json';

/** One cache record as exported: a step's key and what it produced. */
export interface CacheRecord extends CachedStep {
  key: string;
}

/** The config blob of an exported cache. */
interface CacheDocument {
  version: 1;
  records: CacheRecord[];
}

/** Attributes of buildx's registry cache that mean nothing here but are accepted. */
const IGNORED_ATTRIBUTES = new Set(['mode', 'oci-mediatypes', 'image-manifest', 'compression', 'compression-level', 'force-compression', 'ignore-error']);

/**
 * Parses a `--cache-to` / `--cache-from` value: `type=registry,ref=host/repo:tag` (buildx's form;
 * `mode=max` and the like are accepted and ignored), or for `--cache-from` a bare reference.
 * Only the registry type exists: `type=local` and others are refused.
 */
export function parseCacheSpec(text: string, flag: '--cache-to' | '--cache-from'): Reference {
  const fields = new Map<string, string>();
  if (!text.includes('=')) {
    if (flag === '--cache-from' && text !== '') fields.set('ref', text).set('type', 'registry');
  } else {
    for (const part of text.split(',')) {
      const i = part.indexOf('=');
      if (i <= 0) throw new InvalidArgumentError(`Invalid ${flag} value "${text}": expected key=value pairs like type=registry,ref=host/repo:cache`);
      fields.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1).trim());
    }
  }
  const type = fields.get('type') ?? 'registry';
  if (type !== 'registry') throw new InvalidArgumentError(`Invalid ${flag} value "${text}": cache type "${type}" is not supported, only type=registry`);
  const ref = fields.get('ref');
  if (!ref) throw new InvalidArgumentError(`Invalid ${flag} value "${text}": ref is missing (type=registry,ref=host/repo:cache)`);
  for (const key of fields.keys()) {
    if (key !== 'type' && key !== 'ref' && !IGNORED_ATTRIBUTES.has(key)) {
      throw new InvalidArgumentError(`Invalid ${flag} value "${text}": unknown attribute "${key}"`);
    }
  }
  try {
    return parseReference(ref, { defaultTag: true });
  } catch (err) {
    throw new InvalidArgumentError(`Invalid ${flag} value "${text}": ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Pushes `records` to `ref` as an OCI artifact: an image manifest whose config (media type
 * BUILD_CACHE_MEDIA_TYPE) is the JSON of the records and whose layers are their layer blobs, each
 * once. The blobs must be in `content`. Returns the manifest's digest.
 */
export async function exportCache(client: RegistryClient, content: WorkerContent, ref: Reference, records: CacheRecord[], options: { lease?: string } = {}): Promise<string> {
  const document: CacheDocument = { version: 1, records };
  const configBlob = await content.ingest(Buffer.from(JSON.stringify(document)), { lease: options.lease });
  const layers = new Map<string, Descriptor>();
  for (const r of records) if (r.layer) layers.set(r.layer.descriptor.digest, r.layer.descriptor);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType: BUILD_CACHE_MEDIA_TYPE,
    config: { mediaType: BUILD_CACHE_MEDIA_TYPE, digest: configBlob.digest, size: configBlob.size },
    layers: [...layers.values()],
  };
  const pushed = await client.push(ref, { store: pushStore(content), manifest: Buffer.from(JSON.stringify(manifest)) });
  return pushed.digest;
}

/** The worker's content as what a push reads (whole-blob uploads only: no local file path). */
function pushStore(content: WorkerContent): PushStore {
  return {
    info: (digest) => content.info(digest),
    read: (digest) => content.read(digest),
    createReadStream: (digest) => content.createReadStream(digest),
    path: (digest) => {
      throw new InvalidArgumentError(`Cannot upload "${digest}" in chunks: the builder reads blobs through the agent`);
    },
  };
}

/**
 * A build cache imported from a registry (`--cache-from`): the records are read at once, a layer
 * blob is downloaded (and verified) only when a step uses it.
 */
export class RemoteCache {
  private constructor(
    readonly ref: Reference,
    private readonly client: RegistryClient,
    private readonly records: Map<string, CacheRecord>,
  ) {}

  /**
   * Reads the cache at `ref`. NotFoundError when the registry has no such manifest;
   * InvalidArgumentError when it is not a build cache exported by `exportCache`.
   */
  static async load(client: RegistryClient, ref: Reference): Promise<RemoteCache> {
    const manifest = await client.getManifest(ref);
    const parsed = JSON.parse(manifest.bytes.toString('utf8')) as { config?: Descriptor };
    if (parsed.config?.mediaType !== BUILD_CACHE_MEDIA_TYPE) {
      throw new InvalidArgumentError(
        `"${ref.toString()}" is not a build cache: its config is "${parsed.config?.mediaType ?? 'missing'}", expected "${BUILD_CACHE_MEDIA_TYPE}"`,
      );
    }
    const blob = await client.openBlob(ref, parsed.config.digest);
    const chunks: Buffer[] = [];
    for await (const chunk of blob.stream) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (digest !== parsed.config.digest) {
      throw new InvalidArgumentError(`The cache config of "${ref.toString()}" has digest "${digest}", expected "${parsed.config.digest}"`);
    }
    const document = JSON.parse(bytes.toString('utf8')) as CacheDocument;
    return new RemoteCache(ref, client, new Map(document.records.map((r) => [r.key, r])));
  }

  get size(): number {
    return this.records.size;
  }

  /** The record of `key`, if the imported cache has one. */
  get(key: string): CacheRecord | undefined {
    return this.records.get(key);
  }

  /** Downloads the layer blob of `record` into `content` (verified against its digest) unless there. */
  async fetchLayer(content: WorkerContent, record: CacheRecord, options: { lease?: string } = {}): Promise<void> {
    const layer = record.layer?.descriptor;
    if (!layer) return;
    const present = await content.info(layer.digest).then(
      () => true,
      (err) => (err instanceof NotFoundError ? false : Promise.reject(err)),
    );
    if (present) return;
    const blob = await this.client.openBlob(this.ref, layer.digest);
    await content.ingest(blob.stream, { expected: layer.digest, size: layer.size, lease: options.lease });
  }
}
