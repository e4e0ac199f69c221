import { PassThrough, Readable, Transform } from 'node:stream';
import { isBerthError } from '@berth/errors';
import { createDigester } from '@berth/oci';
import { RegistryClient, type BlobStream } from '@berth/registry-client';
import { looksLikeDigest, parseDigest } from '../digest.js';
import { parseRemoteUrl } from './remote-url.js';
import { RegistryError } from '../registry-error.js';
import type { FilesystemStorage } from '../storage/filesystem-storage.js';

export interface ProxyOptions {
  /** The upstream registry: `https://registry-1.docker.io`, `http://127.0.0.1:5000` (no path). */
  remoteUrl: string;
  /** Credentials for the upstream (Basic, or for its token server). */
  username?: string;
  password?: string;
}

/** A blob being fetched from upstream: what to send the client while it is stored. */
export interface UpstreamBlob {
  /** The whole blob's size, when the upstream said. */
  size?: number;
  /**
   * The bytes, verified on the fly: when they do not match the digest the stream is destroyed
   * with an error at the end instead of ending cleanly, so a client never takes them as complete.
   * It ends after the blob is stored.
   */
  stream: Readable;
  /** Settles once the blob is stored (atomically, verified) or its storing failed. Never rejects. */
  stored: Promise<boolean>;
}

/**
 * Pull-through cache mode (registry:2's `proxy`): the registry mirrors one upstream registry and
 * keeps what its clients pull in its own storage.
 *
 * - Manifests by tag are fetched from upstream on every GET/HEAD (so the tag follows upstream);
 *   when the upstream cannot be reached (network error, 5xx, 429) the cached copy is served.
 *   A tag the upstream does not know is MANIFEST_UNKNOWN, even if a stale copy is cached.
 * - Manifests by digest are immutable: served from the cache, else fetched and verified.
 * - Blobs are served from the cache, else fetched from upstream and streamed to the client while
 *   they are stored (digest-verified, atomic rename, as a push).
 * - Manifests are cached without their blobs (these come on demand), so gc must not run with a
 *   grace period shorter than a pull takes.
 */
export class PullThroughCache {
  readonly remote: URL;
  private readonly client: RegistryClient;
  private readonly domain: string;

  constructor(
    private readonly storage: FilesystemStorage,
    options: ProxyOptions,
  ) {
    this.remote = parseRemoteUrl(options.remoteUrl);
    this.domain = this.remote.host;
    const credentials = options.username !== undefined ? { username: options.username, password: options.password ?? '' } : undefined;
    this.client = new RegistryClient({
      credentials: async () => credentials,
      insecureRegistries: this.remote.protocol === 'http:' ? [this.remote.host] : [],
      userAgent: 'berth-registry-proxy/0.1',
    });
  }

  /**
   * Makes manifest `reference` (tag or digest) of `name` current in the cache, so the caller can
   * serve it from storage. Throws MANIFEST_UNKNOWN when upstream does not have it, or when it is
   * neither reachable nor cached (with the reason in the message).
   */
  async refreshManifest(name: string, reference: string): Promise<void> {
    const byDigest = looksLikeDigest(reference);
    if (byDigest && (await this.cached(name, reference))) return;
    let fetched;
    try {
      fetched = await this.client.getManifest(`${this.domain}/${name}${byDigest ? '@' : ':'}${reference}`);
    } catch (err) {
      if (isBerthError(err) && err.kind === 'unavailable' && !byDigest && (await this.cached(name, reference))) return;
      throw upstreamError(err, `Manifest "${reference}" of "${name}"`, this.remote);
    }
    await this.storage.putManifest(name, reference, fetched.bytes, { contentType: fetched.mediaType, verifyReferences: false });
  }

  /**
   * Opens blob `digest` of `name` upstream (call it when the cache does not have it). The
   * returned stream is verified and stored as it is read; BLOB_UNKNOWN when upstream lacks it.
   */
  async fetchBlob(name: string, digest: string): Promise<UpstreamBlob> {
    let upstream: BlobStream;
    try {
      upstream = await this.client.openBlob(`${this.domain}/${name}`, digest);
    } catch (err) {
      throw upstreamError(err, `Blob "${digest}" of "${name}"`, this.remote);
    }
    const digester = createDigester(parseDigest(digest).algorithm);
    const verifier = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        digester.update(chunk);
        callback(null, chunk);
      },
      flush(callback) {
        const actual = digester.digest();
        callback(actual === digest ? null : new Error(`Upstream sent ${digester.size} bytes with digest "${actual}" for blob "${digest}"`));
      },
    });
    // Two readers of one verified stream: the store and the client. pipe() holds the source back
    // for the slower one; when the client goes away the store still gets every byte. The client's
    // stream ends only once the blob is stored, so a client that saw the end can pull it again
    // from the cache.
    const toStore = new PassThrough();
    // Destroyed with the verifier's error, possibly before putBlob reads it: putBlob then fails
    // (and removes its upload) without the error escaping as unhandled.
    toStore.on('error', () => undefined);
    const stored = this.storage.putBlob(name, digest, toStore).then(
      () => true,
      () => false,
    );
    const toClient = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        callback(null, chunk);
      },
      flush(callback) {
        void stored.then(() => callback());
      },
    });
    upstream.stream.on('error', (err) => verifier.destroy(err));
    verifier.on('error', (err) => {
      toClient.destroy(err);
      toStore.destroy(err);
    });
    upstream.stream.pipe(verifier);
    verifier.pipe(toStore);
    verifier.pipe(toClient);
    toClient.on('close', () => {
      if (!toClient.writableFinished) verifier.unpipe(toClient);
    });
    return { ...(upstream.size !== undefined ? { size: upstream.size } : {}), stream: toClient, stored };
  }

  /** Fetches a blob into the cache without serving it (HEAD on a miss). */
  async cacheBlob(name: string, digest: string): Promise<void> {
    const blob = await this.fetchBlob(name, digest);
    blob.stream.resume();
    if (!(await blob.stored)) {
      throw new RegistryError('BLOB_UNKNOWN', `Blob "${digest}" of "${name}" could not be fetched from ${this.remote.origin}`, { status: 502 });
    }
  }

  close(): void {
    this.client.close();
  }

  private async cached(name: string, reference: string): Promise<boolean> {
    try {
      await this.storage.getManifest(name, reference);
      return true;
    } catch (err) {
      if (err instanceof RegistryError && err.status === 404) return false;
      throw err;
    }
  }
}


/**
 * The upstream's answer as the registry's own error: its 404s become MANIFEST_UNKNOWN /
 * BLOB_UNKNOWN (clients act on those), anything else a 502-like UNKNOWN naming the upstream.
 */
function upstreamError(err: unknown, what: string, remote: URL): RegistryError {
  const message = err instanceof Error ? err.message : String(err);
  if (isBerthError(err) && err.kind === 'not-found') {
    const code = what.startsWith('Blob') ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN';
    return new RegistryError(code, `${what} is unknown upstream (${remote.origin}): ${message}`, { cause: err });
  }
  if (isBerthError(err) && err.kind === 'unavailable') {
    return new RegistryError('UNKNOWN', `${what} is not cached and the upstream registry ${remote.origin} is unavailable: ${message}`, {
      status: 502,
      cause: err,
    });
  }
  return new RegistryError('UNKNOWN', `${what} could not be fetched from ${remote.origin}: ${message}`, { status: 502, cause: err });
}
