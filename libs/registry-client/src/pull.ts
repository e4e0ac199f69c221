import type { ContentStore } from '@berth/content';
import { InvalidArgumentError, NotFoundError, UnavailableError } from '@berth/errors';
import {
  currentPlatform,
  type Descriptor,
  formatPlatform,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  isConfigType,
  isIndexType,
  isManifestType,
  matchPlatform,
  type Platform,
  parsePlatform,
  type Reference,
  shortId,
  validateConfig,
  validateIndex,
  validateManifest,
} from '@berth/oci';
import { forEachLimit } from './limit.js';
import { throttle, type ProgressListener, type PullStatus } from './progress.js';
import type { ManifestResponse, ManifestSource } from './registry-api.js';

export interface PullOptions {
  /** Where blobs, the manifest (and the index) go. */
  store: ContentStore;
  /** For an index: `os/arch[/variant]` or a Platform; default this host's (`currentPlatform()`). */
  platform?: Platform | string;
  onProgress?: ProgressListener<PullStatus>;
  /** Blobs downloaded at once (default 3, as Docker). */
  concurrency?: number;
  /** Attempts to resume one blob after a broken connection (default 5). */
  maxRetries?: number;
  /** First delay between attempts, doubled each time (default 250 ms). */
  retryDelayMs?: number;
}

export interface PullResult {
  reference: Reference;
  /**
   * What the reference resolves to in the registry: the index's digest for a multi-platform image,
   * else the manifest's. Docker prints it (`Digest: sha256:…`) and records `name@digest` as RepoDigest.
   */
  digest: string;
  /** The image manifest pulled (the chosen platform's, for an index); it is in the store. */
  manifestDigest: string;
  mediaType: string;
  /** Its exact bytes (what the image store must keep, as they make the digest). */
  manifestBytes: Buffer;
  manifest: ImageManifest;
  config: ImageConfig;
  configDescriptor: Descriptor;
  layers: Descriptor[];
  /** The index the reference named, when it named one (also stored). */
  index?: { digest: string; mediaType: string; bytes: Buffer; index: ImageIndex };
  /** Bytes received from the registry (0 when everything was in the store already). */
  bytesDownloaded: number;
  /** Distinct layer blobs downloaded, and found in the store. */
  layersDownloaded: number;
  layersExisting: number;
}

/**
 * The pull flow: manifest (→ platform manifest of an index) → config and layers in parallel,
 * skipping those in the store → manifest (and index) bytes stored last. Each blob is streamed
 * into `store.ingest` with its expected digest and size, so a wrong or truncated blob never
 * becomes visible; a connection broken mid-blob is resumed from the bytes received (Range
 * request; when the registry ignores Range, the bytes already received are skipped).
 */
export async function pullImage(client: ManifestSource, ref: Reference, options: PullOptions): Promise<PullResult> {
  const { store } = options;
  const emit = options.onProgress ?? (() => undefined);
  const top = await client.getManifest(ref);
  let chosen: ManifestResponse = top;
  let index: PullResult['index'];
  if (isIndexType(top.mediaType)) {
    const parsed = validateIndex(parseJson(top.bytes, 'image index'));
    const entry = pickPlatform(parsed, options.platform);
    chosen = await client.getManifest(ref, { digest: entry.digest });
    if (chosen.bytes.length !== entry.size) {
      throw new InvalidArgumentError(`Manifest "${entry.digest}" of "${ref.familiar()}" has ${chosen.bytes.length} bytes, the index says ${entry.size}`);
    }
    index = { digest: top.digest, mediaType: top.mediaType, bytes: top.bytes, index: parsed };
  }
  if (!isManifestType(chosen.mediaType)) {
    throw new InvalidArgumentError(`Cannot pull "${ref.familiar()}": unsupported manifest media type "${chosen.mediaType}"`);
  }
  const manifest = validateManifest(parseJson(chosen.bytes, 'image manifest'));
  if (!isConfigType(manifest.config.mediaType)) {
    throw new InvalidArgumentError(
      `Cannot pull "${ref.familiar()}": it is not a container image (config media type "${manifest.config.mediaType}")`,
    );
  }

  // Distinct blobs: the config first, then the layers (an image may list one layer twice).
  const layerDigests = [...new Set(manifest.layers.map((l) => l.digest))];
  const layerOf = new Map(manifest.layers.map((l) => [l.digest, l]));
  const present = new Set<string>();
  for (const digest of [manifest.config.digest, ...layerDigests]) if (await store.has(digest)) present.add(digest);
  for (const digest of layerDigests) {
    emit(present.has(digest) ? { id: shortId(digest), status: 'Already exists' } : { id: shortId(digest), status: 'Pulling fs layer', current: 0, total: layerOf.get(digest)!.size });
  }

  let bytesDownloaded = 0;
  const missing = [manifest.config, ...layerDigests.map((d) => layerOf.get(d)!)].filter((d) => !present.has(d.digest));
  const uniqueMissing = [...new Map(missing.map((d) => [d.digest, d])).values()];
  await forEachLimit(uniqueMissing, options.concurrency ?? 3, async (desc) => {
    const isLayer = desc.digest !== manifest.config.digest || layerOf.has(desc.digest);
    const id = shortId(desc.digest);
    const progress = throttle(100, (current) => emit({ id, status: 'Downloading', current, total: desc.size }));
    const moved = await downloadBlob(client, ref, desc, store, {
      onBytes: isLayer ? progress : undefined,
      maxRetries: options.maxRetries ?? 5,
      retryDelayMs: options.retryDelayMs ?? 250,
      onComplete: isLayer ? () => emit({ id, status: 'Download complete' }) : undefined,
    });
    bytesDownloaded += moved;
    if (isLayer) emit({ id, status: 'Pull complete' });
  });

  await store.ingest(chosen.bytes, { expected: chosen.digest, size: chosen.bytes.length });
  if (index) await store.ingest(index.bytes, { expected: index.digest, size: index.bytes.length });
  const config = validateConfig(await store.readJson(manifest.config.digest));
  return {
    reference: ref,
    digest: top.digest,
    manifestDigest: chosen.digest,
    mediaType: chosen.mediaType,
    manifestBytes: chosen.bytes,
    manifest,
    config,
    configDescriptor: manifest.config,
    layers: manifest.layers,
    ...(index ? { index } : {}),
    bytesDownloaded,
    layersDownloaded: layerDigests.filter((d) => !present.has(d)).length,
    layersExisting: layerDigests.filter((d) => present.has(d)).length,
  };
}

/**
 * The index entry for `wanted` (default: this host): an image manifest whose platform matches,
 * preferring an exact variant. Docker's wording when none does.
 */
export function pickPlatform(index: ImageIndex, wanted: Platform | string | undefined): Descriptor {
  const platform = typeof wanted === 'string' ? parsePlatform(wanted) : (wanted ?? currentPlatform());
  const match = matchPlatform(platform);
  const candidates = index.manifests.filter((d) => isManifestType(d.mediaType) && match(d.platform));
  const entry = candidates.find((d) => (d.platform?.variant ?? '') === (platform.variant ?? '')) ?? candidates[0];
  if (entry === undefined) {
    throw new NotFoundError(`no matching manifest for ${formatPlatform(platform)} in the manifest list entries`, {
      code: 'NO_MATCHING_MANIFEST',
      detail: { available: index.manifests.map((d) => (d.platform ? formatPlatform(d.platform) : d.digest)) },
    });
  }
  return entry;
}

interface DownloadOptions {
  onBytes?: (received: number, final?: boolean) => void;
  onComplete?: () => void;
  maxRetries: number;
  retryDelayMs: number;
}

/** Raised when a body ended (without a socket error) before all the blob's bytes came. */
class TruncatedBody extends Error {
  readonly code = 'ERR_TRUNCATED_BODY';
}

/**
 * Streams one blob into the store, verified. Retries after a broken connection from the bytes
 * already received: they stay in the ingest's temp file, the hash state continues, and the digest
 * check at the end covers the joined stream. Returns the bytes received.
 */
export async function downloadBlob(
  client: ManifestSource,
  ref: Reference,
  desc: Descriptor,
  store: ContentStore,
  options: DownloadOptions,
): Promise<number> {
  let received = 0;
  let transferred = 0;
  async function* body(): AsyncGenerator<Uint8Array> {
    let failures = 0;
    for (;;) {
      let skip = 0;
      try {
        const blob = await client.openBlob(ref, desc.digest, { offset: received });
        if (blob.offset > received) {
          blob.stream.destroy();
          throw new UnavailableError(`Registry "${ref.domain}" resumed blob "${desc.digest}" at byte ${blob.offset}, after the ${received} received`);
        }
        skip = received - blob.offset; // a 200 to a Range request: drop what we have already
        for await (const chunk of blob.stream) {
          let data = chunk as Buffer;
          transferred += data.length;
          if (skip > 0) {
            const n = Math.min(skip, data.length);
            skip -= n;
            data = data.subarray(n);
            if (data.length === 0) continue;
          }
          received += data.length;
          options.onBytes?.(received);
          yield data;
        }
        if (received < desc.size) throw new TruncatedBody(`the body ended after ${received} of ${desc.size} bytes`);
        options.onBytes?.(received, true);
        options.onComplete?.();
        return;
      } catch (err) {
        if (!isRetryable(err) || failures >= options.maxRetries) {
          if (isRetryable(err)) {
            throw new UnavailableError(
              `Cannot download blob "${desc.digest}" from "${ref.name}": ${(err as Error).message} (gave up after ${failures + 1} attempts, ${received} of ${desc.size} bytes received)`,
              { cause: err, code: 'BLOB_DOWNLOAD_FAILED' },
            );
          }
          throw err;
        }
        failures++;
        await new Promise((r) => setTimeout(r, options.retryDelayMs * 2 ** (failures - 1)));
      }
    }
  }
  try {
    await store.ingest(body(), { expected: desc.digest, size: desc.size });
  } catch (err) {
    if (err instanceof InvalidArgumentError && err.code === undefined) {
      // ContentStore's digest / size check: say which image and registry sent the bad bytes.
      throw new InvalidArgumentError(`Cannot pull "${ref.familiar()}": blob from "${ref.domain}" refused: ${err.message}`, {
        cause: err,
        code: 'DIGEST_MISMATCH',
      });
    }
    throw err;
  }
  return transferred;
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_TRUNCATED_BODY',
  'UND_ERR_SOCKET',
]);

function isRetryable(err: unknown): boolean {
  if (err instanceof UnavailableError) return true;
  const e = err as NodeJS.ErrnoException | undefined;
  return (e?.code !== undefined && RETRYABLE_CODES.has(e.code)) || e?.message === 'aborted';
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`Invalid ${what}: not JSON`, { cause: err });
  }
}
