import type { ContentStore } from '@berth/content';
import { InvalidArgumentError, isBerthError, NotFoundError, PermissionDeniedError } from '@berth/errors';
import type { ImageStore } from '@berth/images';
import { parseReference, type Reference } from '@berth/oci';
import type {
  LoginRequest,
  LoginResponse,
  PullImageRequest,
  PushImageRequest,
  RegistryAuth,
  SearchImagesRequest,
  SearchImagesResponse,
  TransferProgress,
} from '@berth/proto';
import { credentialsFor, type PlatformRegistry, platformRegistryTransport, RegistryClient, type ProgressEvent } from '@berth/registry-client';
import { searchCatalog, splitSearchTerm } from './registry-search.js';

export interface RegistryTransferOptions {
  images: ImageStore;
  /** The content store under `images` (pulled blobs go there, pushed ones come from there). */
  content: ContentStore;
  /**
   * Registries spoken to over plain HTTP or unverified HTTPS besides loopback ones (`host:port` or
   * `host`, Docker's `insecure-registries`).
   */
  insecureRegistries?: readonly string[];
  /**
   * The platform's own registry (`127.0.0.1:<port>`) and its credentials: a request for it that
   * carries no credentials uses these, so root pushes there without a `berth login`. References
   * may also name it `berth.localhost/…` (PLATFORM_REGISTRY_ALIAS), whatever its port.
   */
  platformRegistry?: PlatformRegistry;
  /**
   * Called after each tag pushed (`image.push`); pulls publish `image.pull` through the image
   * store's own events.
   */
  onPush?: (event: { id: string; name: string }) => void;
}

/**
 * docker pull / push / login on the agent's side: a registry client per request, holding only the
 * credentials the request carries (the agent keeps none, as dockerd does with X-Registry-Auth).
 * Each operation is an async stream of Docker's progress messages; a failure rejects the stream
 * with the error class of the registry's answer (`unauthorized: …` is a PermissionDeniedError).
 *
 * Cancelling the stream stops the messages but not the transfer under way: it finishes (pulled
 * blobs are verified and kept) and its result is dropped.
 */
export class RegistryTransfer {
  constructor(private readonly options: RegistryTransferOptions) {}

  /**
   * Pulls `ref` (or every tag of its repository) into the content store, then records the image
   * under its tag and `name@digest`. Messages: `<tag>: Pulling from <path>`, per layer events,
   * `Digest: sha256:…`, and last `Status: Downloaded newer image for <ref>` (or `Image is up to
   * date`) carrying digest, image id and the full reference.
   */
  async *pull(request: PullImageRequest): AsyncGenerator<TransferProgress> {
    const ref = parseRef(request.ref, !request.allTags);
    if (request.allTags && (ref.tag !== undefined || ref.digest !== undefined)) {
      throw new InvalidArgumentError('tag can\'t be used with --all-tags/-a');
    }
    yield* streamOf<TransferProgress>(async (emit) => {
      const client = this.#client(ref.domain, request.registryAuth);
      try {
        if (!request.allTags) {
          const pulled = await this.#pullOne(client, ref, request.platform, emit);
          emit(message({
            status: `Status: ${pulled.updated ? 'Downloaded newer image' : 'Image is up to date'} for ${ref.familiar()}`,
            digest: pulled.digest,
            imageId: pulled.imageId,
            ref: ref.toString(),
          }));
          return;
        }
        const tags = await client.listTags(ref).catch((err: unknown) => {
          throw pullError(err, ref);
        });
        let updated = false;
        for (const tag of tags.sort()) {
          const tagged = parseReference(`${ref.name}:${tag}`);
          updated = (await this.#pullOne(client, tagged, request.platform, emit)).updated || updated;
        }
        emit(message({ status: `Status: ${updated ? 'Downloaded newer image' : 'Image is up to date'} for ${ref.familiarName()}`, ref: ref.name }));
      } finally {
        client.close();
      }
    });
  }

  async #pullOne(
    client: RegistryClient,
    ref: Reference,
    platform: string,
    emit: (m: TransferProgress) => void,
  ): Promise<{ digest: string; imageId: string; updated: boolean }> {
    const { images, content } = this.options;
    const before = await images.resolve(ref.toString()).then((r) => r.id, () => undefined);
    let announced = false;
    const announce = () => {
      if (!announced) emit(message({ id: ref.digest ?? ref.tag ?? '', status: `Pulling from ${ref.path}` }));
      announced = true;
    };
    let pulled;
    try {
      pulled = await client.pull(ref, {
        store: content,
        ...(platform ? { platform } : {}),
        onProgress: (e) => {
          announce();
          emit(progressMessage(e));
        },
      });
    } catch (err) {
      throw pullError(err, ref);
    }
    announce();
    const names = [...(ref.tag !== undefined && ref.digest === undefined ? [ref.toString()] : []), `${ref.name}@${pulled.digest}`];
    const record = await images.putImage({ manifest: pulled.manifestBytes, names, action: 'pull' });
    emit(message({ status: `Digest: ${pulled.digest}`, digest: pulled.digest }));
    return { digest: pulled.digest, imageId: record.id, updated: before !== record.id };
  }

  /**
   * Pushes the local image `ref` names (or every local tag of its repository) with its blobs.
   * Messages: `The push refers to repository [<name>]`, per layer events, and per tag
   * `<tag>: digest: sha256:… size: N` carrying digest, size and the full reference.
   */
  async *push(request: PushImageRequest): AsyncGenerator<TransferProgress> {
    const ref = parseRef(request.ref, !request.allTags);
    if (ref.digest !== undefined) throw new InvalidArgumentError(`Cannot push "${request.ref}": push a tag, not a digest reference`);
    if (request.allTags && ref.tag !== undefined) throw new InvalidArgumentError('tag can\'t be used with --all-tags/-a');
    yield* streamOf<TransferProgress>(async (emit) => {
      const { images, content } = this.options;
      const records = await images.all();
      // Every local tag of the repository, with the image it names.
      const local = new Map<string, (typeof records)[number]>();
      for (const record of records) {
        for (const name of record.names) {
          const r = parseRef(name, false);
          if (r.name === ref.name && r.tag !== undefined && r.digest === undefined) local.set(r.tag, record);
        }
      }
      const tags = request.allTags ? [...local.keys()].sort() : [ref.tag!];
      emit(message({ status: `The push refers to repository [${ref.name}]` }));
      if (tags.length === 0 || !local.has(tags[0]!)) {
        throw new NotFoundError(`An image does not exist locally with the tag: ${ref.familiarName()}`, { code: 'NO_SUCH_IMAGE' });
      }
      const client = this.#client(ref.domain, request.registryAuth);
      try {
        for (const tag of tags) {
          const record = local.get(tag)!;
          const target = parseReference(`${ref.name}:${tag}`);
          // Another name of the image on the same registry probably has its blobs: mount them.
          const mountFrom = record.names
            .map((n) => parseRef(n, false))
            .find((r) => r.domain === ref.domain && r.path !== ref.path)?.path;
          const pushed = await client.push(target, {
            store: content,
            manifestDigest: record.manifestDigest,
            ...(mountFrom ? { mountFrom } : {}),
            onProgress: (e) => emit(progressMessage(e)),
          });
          images.recordDigest(record.id, `${ref.name}@${pushed.digest}`);
          this.options.onPush?.({ id: record.id, name: target.familiar() });
          emit(message({ status: pushed.status, digest: pushed.digest, size: pushed.size, ref: target.toString() }));
        }
      } finally {
        client.close();
      }
    });
  }

  /**
   * Checks credentials against the registry's `GET /v2/` (through its Basic or token challenge).
   * Wrong ones: PermissionDeniedError `unauthorized: <registry's message>`. Nothing is stored.
   */
  async login(request: LoginRequest): Promise<LoginResponse> {
    const domain = serverDomain(request.server);
    const auth = request.registryAuth;
    if (!auth || auth.username === '') throw new InvalidArgumentError('Cannot log in: the username is empty');
    if (auth.username.includes(':')) throw new InvalidArgumentError(`Cannot log in as "${auth.username}": a username cannot contain ":"`);
    // RegistryClient.login would also write a Docker config file: only the check belongs here.
    const client = this.#client(domain, auth);
    try {
      await client.ping(domain);
    } finally {
      client.close();
    }
    return { status: 'Login Succeeded' };
  }

  /** docker search: the matching repositories of the named registry, or of the platform's (registry-search.ts). */
  async search(request: SearchImagesRequest): Promise<SearchImagesResponse> {
    const { domain, term } = splitSearchTerm(request.term, this.options.platformRegistry?.address);
    const client = this.#client(domain, request.registryAuth);
    try {
      return { results: await searchCatalog(client, domain, term, request.limit || 25) };
    } finally {
      client.close();
    }
  }

  /** A client that answers the challenges of registry `domain` with the request's credentials only. */
  #client(domain: string, auth: RegistryAuth | undefined): RegistryClient {
    const platform = this.options.platformRegistry;
    const requested = auth ? { username: auth.username, password: auth.password } : undefined;
    const credentials = credentialsFor(domain, requested, platform);
    return new RegistryClient({
      credentials: async (asked) => (asked === domain ? credentials : undefined),
      insecureRegistries: [...(this.options.insecureRegistries ?? [])],
      ...platformRegistryTransport(platform),
    });
  }
}

/** `https://host:5000/v2/` → `host:5000`; empty or Docker Hub's names → `docker.io`. */
export function serverDomain(server: string): string {
  const host = server.trim().replace(/^https?:\/\//, '').split('/')[0]!;
  if (host === '' || host === 'index.docker.io' || host === 'registry-1.docker.io') return 'docker.io';
  return host;
}

function parseRef(text: string, defaultTag: boolean): Reference {
  return parseReference(text, { defaultTag });
}

/**
 * Docker's wording for a pull the registry refused: it cannot tell a private repository from a
 * missing one.
 */
function pullError(err: unknown, ref: Reference): unknown {
  if (isBerthError(err) && err.kind === 'permission-denied') {
    return new PermissionDeniedError(
      `pull access denied for ${ref.familiarName()}, repository does not exist or may require 'docker login': ${err.message}`,
      { cause: err, ...(err.code ? { code: err.code } : {}) },
    );
  }
  return err;
}

function message(m: Partial<TransferProgress> & { status: string }): TransferProgress {
  return { id: '', current: 0, total: 0, digest: '', imageId: '', size: 0, ref: '', ...m };
}

function progressMessage(e: ProgressEvent): TransferProgress {
  return message({ id: e.id, status: e.status, current: e.current ?? 0, total: e.total ?? 0 });
}

/**
 * Runs `run`, yielding what it emits as it emits it; the generator ends when `run` resolves and
 * throws what it rejects with. Returning early leaves `run` to finish on its own (its failure is
 * then ignored).
 */
async function* streamOf<T>(run: (emit: (m: T) => void) => Promise<void>): AsyncGenerator<T> {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let failure: { err: unknown } | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  run((m) => {
    queue.push(m);
    notify();
  }).then(
    () => {
      done = true;
      notify();
    },
    (err: unknown) => {
      failure = { err };
      done = true;
      notify();
    },
  );
  for (;;) {
    if (queue.length > 0) {
      yield queue.shift()!;
      continue;
    }
    if (done) break;
    await new Promise<void>((resolve) => (wake = resolve));
  }
  if (failure) throw failure.err;
}
