import { createHash } from 'node:crypto';
import { Readable, Transform, pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import type { ContentStore } from '@berth/content';
import { InvalidArgumentError, UnavailableError } from '@berth/errors';
import { type Descriptor, detectCompression, type LayerCompression, MediaType } from '@berth/oci';

/** A layer just written to the content store. */
export interface IngestedLayer {
  /** The compressed blob, as it goes into a manifest. */
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar (what the config's rootfs.diff_ids lists). */
  diffId: string;
  /** Bytes of the uncompressed tar. */
  size: number;
}

/**
 * Stores a layer tar given plain, gzip or zstd (detected from its first bytes) as a gzip blob,
 * computing its diff ID and uncompressed size on the way; nothing is buffered in memory.
 */
export async function ingestLayer(content: Pick<ContentStore, 'ingest'>, source: Readable | AsyncIterable<Uint8Array>): Promise<IngestedLayer> {
  const plain = await decompressed(Readable.from(source));
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  let failure: unknown;
  const gzipped = pipeline(plain, count, zlib.createGzip(), (err) => {
    if (err) failure = err;
  });
  let blob;
  try {
    blob = await content.ingest(gzipped);
  } catch (err) {
    throw failure ?? err;
  }
  if (failure) throw failure;
  return {
    descriptor: { mediaType: MediaType.OciLayerGzip, digest: blob.digest, size: blob.size },
    diffId: `sha256:${hash.digest('hex')}`,
    size,
  };
}

/** Diff ID and uncompressed size of a stored layer blob, by reading it through. */
export async function measureLayer(content: ContentStore, digest: string): Promise<{ diffId: string; size: number }> {
  const plain = await decompressed(content.createReadStream(digest));
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of plain) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}

/** The compression of a stored blob, from its first bytes. */
export async function blobCompression(content: ContentStore, digest: string): Promise<LayerCompression> {
  for await (const chunk of content.createReadStream(digest)) return detectCompression(chunk as Buffer);
  return 'none';
}

/** The stream uncompressed, whatever it came as (gzip, zstd where Node supports it, plain). */
export async function decompressed(source: Readable): Promise<Readable> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : Buffer.from(first.value as Uint8Array);
  const whole = Readable.from(
    (async function* () {
      if (head.length > 0) yield head;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value as Buffer;
      }
    })(),
    { objectMode: false },
  );
  const compression = detectCompression(head);
  if (compression === 'none') return whole;
  if (compression === 'gzip') return pipeline(whole, zlib.createGunzip(), () => undefined);
  const zstd = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;
  if (!zstd) throw new UnavailableError('Cannot read a zstd-compressed layer: this Node.js has no zstd support (needs 22.15+)');
  return pipeline(whole, zstd(), () => undefined);
}

/** The OCI media type for a layer descriptor of another family (Docker schema 2) with the same bytes. */
export function toOciLayerType(mediaType: string): string {
  switch (mediaType) {
    case MediaType.DockerLayer:
      return MediaType.OciLayer;
    case MediaType.DockerLayerGzip:
      return MediaType.OciLayerGzip;
    case MediaType.DockerLayerZstd:
      return MediaType.OciLayerZstd;
    case MediaType.DockerForeignLayerGzip:
      throw new InvalidArgumentError(`Foreign layers ("${mediaType}") are not supported`);
    default:
      return mediaType;
  }
}
