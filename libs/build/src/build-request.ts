import type { Credentials } from '@berth/worker';
import type { ContextSync } from './context/context-store.js';

/** What `--output` streams back: an OCI layout tar, or the flattened rootfs as a tar. */
export type BuildOutputType = 'oci' | 'tar' | 'local';

export interface BuildRequest {
  /** The context as a tar stream (plain or gzip); absent or empty for none. */
  context?: AsyncIterable<Uint8Array>;
  /**
   * Instead of `context`: a file sync with the client. The builder keeps the context of the last
   * build of this key and fetches only the files that changed.
   */
  contextSync?: ContextSync;
  /** Path of the Dockerfile in the context; default `Dockerfile`. */
  dockerfile?: string;
  /** The Dockerfile's text, when it does not come from the context. */
  dockerfileContent?: string;
  /** Name of an inline Dockerfile in messages; default `Dockerfile`. */
  dockerfileName?: string;
  buildArgs?: Record<string, string>;
  /** Stage to build (its name or index); default the last. */
  target?: string;
  tags?: string[];
  noCache?: boolean;
  labels?: Record<string, string>;
  /** Stage names (or indexes) built without the cache (`--no-cache-filter`). */
  noCacheFilter?: string[];
  /** Pull base images even when they are in the store (`--pull`). */
  pull?: boolean;
  /** Push every tag once built (`--push`); needs at least one tag. */
  push?: boolean;
  /** Credentials by registry domain (`docker.io`, `host:5000`) for pulls, pushes and the cache. */
  registryAuth?: Record<string, Credentials>;
  /**
   * `--output`: the result is streamed to `onOutput` — `oci` an OCI image-layout tar (as `save`),
   * `tar` and `local` the flattened root filesystem as a tar. The image is still stored.
   */
  output?: BuildOutputType;
  /** Squash the layers of this build into one on top of the base image's (`--squash`). */
  squash?: boolean;
  /** `--cache-to` values (`type=registry,ref=host/repo:cache`): the build's cache is pushed there. */
  cacheTo?: string[];
  /** `--cache-from` values: caches read before building; a step found there is not run. */
  cacheFrom?: string[];
  /** `--network` of the RUN steps: `default` (the host's, as BuildKit's default), `host` or `none`. */
  network?: string;
  /** `--add-host name:ip` (or `name=ip`; `host-gateway` is the host itself, RUN steps sharing its network). */
  extraHosts?: string[];
  /** `--platform`: only the host's platform can be built. */
  platform?: string;
  /** `--secret` values by id (for `RUN --mount=type=secret`; never logged, cached or stored in a layer). */
  secrets?: Record<string, Uint8Array>;
  /**
   * `--build-context`: `image` (a reference) or `context` (a tar stream of a directory, read in
   * the order given, before the main context).
   */
  namedContexts?: Array<{ name: string; image?: string; context?: AsyncIterable<Uint8Array> }>;
}

export interface BuildCallbacks {
  /** Each progress line (BuildKit plain style). */
  onProgress?: (line: string) => void;
  /** Each chunk of the `output` export, in order; awaited (back-pressure). */
  onOutput?: (chunk: Uint8Array) => Promise<void>;
  /** Cancels the build: the running step is killed, what it made is removed. */
  signal?: AbortSignal;
  /**
   * The result, as soon as the image exists (registered, and pushed or exported when asked) and the
   * context is released: a caller may answer its client then. The build's lease ends (a round trip
   * to the agent) and its scratch directory goes after; `build()` resolves once they have.
   */
  onResult?: (result: BuildResult) => void;
}

export interface BuildResult {
  imageId: string;
  /** Parser warnings and `[Warning] One or more build-args [X] were not consumed`. */
  warnings: string[];
  /** Vertex counts: steps run and steps taken from the cache. */
  executed: number;
  cached: number;
}
