import { InvalidArgumentError, UnavailableError } from '@berth/errors';
import { type Descriptor, digestOf, MediaType, parseDigest, parseReference, type Reference } from '@berth/oci';
import { DockerConfig, type Credentials } from './docker-config.js';
import { discard, readBody, type HttpResponse } from './http-request.js';
import { MANIFEST_ACCEPT, manifestMediaType, MAX_MANIFEST_SIZE } from './manifest-media-type.js';
import { pullImage, type PullOptions, type PullResult } from './pull.js';
import { pushImage, type PushOptions, type PushResult } from './push.js';
import type { BlobStream, BlobTarget, ManifestResponse, ManifestSource } from './registry-api.js';
import { registryError } from './registry-errors.js';
import { pullScope } from './scopes.js';
import { RegistryTransport, type TransportOptions } from './registry-transport.js';

/**
 * A client of any OCI Distribution registry (Berth's, registry:2, Docker Hub): login/logout with
 * Docker's credentials file, manifests and blobs, and whole-image `pull` into / `push` from a
 * ContentStore. One instance caches origins, challenges and tokens; share it per process and
 * `close()` it at the end.
 *
 * References are `@berth/oci` references (or strings parsed as such): `busybox` means
 * `docker.io/library/busybox:latest`, served by `registry-1.docker.io`.
 */
export interface RegistryClientOptions extends TransportOptions {
  /**
   * Docker config directory holding `config.json` (default `$DOCKER_CONFIG`, else `~/.docker`).
   * Credentials are read from it unless `credentials` is given; `login`/`logout` write to it.
   */
  dockerConfig?: string;
}

export class RegistryClient implements ManifestSource, BlobTarget {
  readonly dockerConfig: DockerConfig;
  readonly #transport: RegistryTransport;

  constructor(options: RegistryClientOptions = {}) {
    this.dockerConfig = new DockerConfig(options.dockerConfig);
    this.#transport = new RegistryTransport({ ...options, credentials: options.credentials ?? this.dockerConfig.provider() });
  }

  /** Closes idle connections. */
  close(): void {
    this.#transport.close();
  }

  /** The origin serving `domain` (`https://registry-1.docker.io` for `docker.io`). */
  origin(domain: string): Promise<URL> {
    return this.#transport.origin(domain);
  }

  /**
   * `docker login`: checks the credentials against `GET /v2/` of `domain` (through its Basic or
   * token challenge), then stores them in the Docker config file (0600). A registry without auth
   * accepts any credentials, as with Docker. Wrong credentials: PermissionDeniedError
   * `unauthorized: <registry's message>`, and the file is left unchanged.
   */
  async login(domain: string, credentials: Credentials): Promise<{ status: 'Login Succeeded' }> {
    if (credentials.username === '') throw new InvalidArgumentError('Cannot log in: the username is empty');
    if (credentials.username.includes(':')) throw new InvalidArgumentError(`Cannot log in as "${credentials.username}": a username cannot contain ":"`);
    this.#transport.forget(domain);
    const res = await this.#transport.request(domain, { method: 'GET', path: '/v2/', credentials });
    if (res.status !== 200) throw await registryError(res);
    discard(res);
    await this.dockerConfig.set(domain, credentials);
    this.#transport.forget(domain);
    return { status: 'Login Succeeded' };
  }

  /** `docker logout`: removes the stored credentials; false when there were none. */
  async logout(domain: string): Promise<boolean> {
    this.#transport.forget(domain);
    return this.dockerConfig.remove(domain);
  }

  /** `GET /v2/` with the stored credentials; throws the registry's error otherwise. */
  async ping(domain: string): Promise<void> {
    const res = await this.#transport.request(domain, { method: 'GET', path: '/v2/' });
    if (res.status !== 200) throw await registryError(res);
    discard(res);
  }

  /**
   * Fetches the manifest or index `ref` names (its digest if it has one, else its tag), accepting
   * OCI and Docker schema 2 types. Verifies the bytes against the digest of the reference (and
   * against the registry's `Docker-Content-Digest`). NotFoundError
   * `manifest for <ref> not found: manifest unknown: ...` when it does not exist.
   */
  async getManifest(ref: string | Reference, options: { digest?: string } = {}): Promise<ManifestResponse> {
    const r = toReference(ref);
    const target = options.digest ?? r.digest ?? r.tag ?? 'latest';
    const res = await this.#transport.request(r.domain, {
      method: 'GET',
      path: `/v2/${r.path}/manifests/${target}`,
      headers: { accept: MANIFEST_ACCEPT.join(', ') },
      scopes: [pullScope(r.path)],
    });
    if (res.status !== 200) throw await this.#fail(res, r, target);
    const bytes = await readBody(res, MAX_MANIFEST_SIZE);
    const expected = options.digest ?? r.digest;
    const served = headerString(res, 'docker-content-digest');
    const digest = expected ?? (served && served.startsWith('sha512:') ? served : undefined) ?? digestOf(bytes, 'sha256');
    const actual = digestOf(bytes, parseDigest(digest).algorithm);
    if (actual !== digest) {
      throw new InvalidArgumentError(`Manifest of "${r.familiar()}" has digest "${actual}", expected "${digest}": refusing it`, { code: 'DIGEST_MISMATCH' });
    }
    if (served !== undefined && served !== digest && parseDigest(served).algorithm === parseDigest(digest).algorithm) {
      throw new InvalidArgumentError(`Manifest of "${r.familiar()}" has digest "${digest}", the registry says "${served}": refusing it`, { code: 'DIGEST_MISMATCH' });
    }
    return { bytes, digest, mediaType: manifestMediaType(headerString(res, 'content-type'), bytes) };
  }

  /** `HEAD` of a manifest: its descriptor without downloading it (digest from the registry). */
  async resolve(ref: string | Reference): Promise<Descriptor> {
    const r = toReference(ref);
    const target = r.digest ?? r.tag ?? 'latest';
    const res = await this.#transport.request(r.domain, {
      method: 'HEAD',
      path: `/v2/${r.path}/manifests/${target}`,
      headers: { accept: MANIFEST_ACCEPT.join(', ') },
      scopes: [pullScope(r.path)],
    });
    discard(res);
    if (res.status !== 200) throw await this.#fail(res, r, target);
    const digest = headerString(res, 'docker-content-digest') ?? r.digest;
    if (digest === undefined) throw new UnavailableError(`Registry "${r.domain}" did not give the digest of "${r.familiar()}"`);
    return { mediaType: headerString(res, 'content-type')?.split(';')[0]!.trim() ?? MediaType.OciManifest, digest, size: Number(res.headers['content-length'] ?? 0) };
  }

  /** True when the repository of `ref` has the blob (`HEAD /v2/<name>/blobs/<digest>`). */
  async hasBlob(ref: string | Reference, digest: string, options: { scopes?: string[] } = {}): Promise<boolean> {
    const r = toReference(ref);
    const res = await this.#transport.request(r.domain, {
      method: 'HEAD',
      path: `/v2/${r.path}/blobs/${digest}`,
      scopes: options.scopes ?? [pullScope(r.path)],
    });
    discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await registryError(res, `Cannot check blob "${digest}" in "${r.name}"`);
  }

  /**
   * Starts a blob download, from `offset` with a Range request when given. The stream is not
   * verified here: pass it to ContentStore.ingest with the expected digest.
   */
  async openBlob(ref: string | Reference, digest: string, options: { offset?: number } = {}): Promise<BlobStream> {
    const r = toReference(ref);
    const offset = options.offset ?? 0;
    const res = await this.#transport.request(r.domain, {
      method: 'GET',
      path: `/v2/${r.path}/blobs/${digest}`,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      scopes: [pullScope(r.path)],
    });
    if (res.status === 200) {
      const length = Number(res.headers['content-length']);
      return { stream: res.body, offset: 0, ...(Number.isFinite(length) ? { size: length } : {}) };
    }
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headerString(res, 'content-range') ?? '');
      if (!m) {
        res.body.destroy();
        throw new UnavailableError(`Registry "${r.domain}" answered a Range request for "${digest}" without a valid Content-Range`);
      }
      return { stream: res.body, offset: Number(m[1]), ...(m[3] !== '*' ? { size: Number(m[3]) } : {}) };
    }
    throw await registryError(res, `Cannot download blob "${digest}" from "${r.name}"`);
  }

  /** Tags of the repository of `ref` (`GET /v2/<name>/tags/list`, first page). */
  async listTags(ref: string | Reference): Promise<string[]> {
    const r = toReference(ref);
    const res = await this.#transport.request(r.domain, { method: 'GET', path: `/v2/${r.path}/tags/list`, scopes: [pullScope(r.path)] });
    if (res.status !== 200) throw await registryError(res, `Cannot list tags of "${r.name}"`);
    const body = JSON.parse((await readBody(res, MAX_MANIFEST_SIZE)).toString('utf8')) as { tags?: string[] | null };
    return body.tags ?? [];
  }

  /**
   * Pulls an image into `options.store`: see PullOptions / PullResult in pull.ts. Blobs already
   * in the store are not downloaded; each one downloaded is verified against its digest before it
   * becomes visible, and a download cut short resumes with a Range request.
   */
  pull(ref: string | Reference, options: PullOptions): Promise<PullResult> {
    return pullImage(this, toReference(ref), options);
  }

  /** Pushes an image from `options.store`: see PushOptions / PushResult in push.ts. */
  push(ref: string | Reference, options: PushOptions): Promise<PushResult> {
    return pushImage(this, toReference(ref), options);
  }

  /** The transport, for the push flow's upload requests. */
  get transport(): RegistryTransport {
    return this.#transport;
  }

  async #fail(res: HttpResponse, r: Reference, target: string): Promise<Error> {
    if (res.status === 404) return registryError(res, `manifest for ${r.familiarName()}${target.includes(':') ? '@' : ':'}${target} not found`);
    return registryError(res, `Cannot fetch manifest "${target}" of "${r.name}"`);
  }
}

export function toReference(ref: string | Reference): Reference {
  return typeof ref === 'string' ? parseReference(ref) : ref;
}

function headerString(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
