import { createHash, randomBytes } from 'node:crypto';
import { lchown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import type { ContentStore } from '@berth/content';
import {
  type ArgScope,
  automaticPlatformArgs,
  BuildArgs,
  type Dockerfile,
  DockerfileError,
  expandHeredoc,
  type FromInstruction,
  type Instruction,
  parseDockerfile,
  parseOnbuildTriggers,
  resolveRunCommand,
  type Stage,
} from '@berth/dockerfile';
import { AlreadyExistsError, BerthError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import { type ImageRecord, type ImageStore, ingestLayer } from '@berth/images';
import { applyLayer, packDirectory } from '@berth/layers';
import type { MetadataDb } from '@berth/metadata';
import { chainIds, type ContainerConfig, currentPlatform, type Descriptor, type HistoryEntry, type ImageConfig, parseReference, type Reference } from '@berth/oci';
import { type Credentials, RegistryClient } from '@berth/registry-client';
import { resolveUser, securePath } from '@berth/runtime';
import { type Mount, mountAll, unmount } from '@berth/snapshots';
import { baseKey, BuildCache, type CachedStep, cacheKey } from './build-cache.js';
import { prepareCacheMounts } from './cache-mounts.js';
import { applyIgnore, readDockerfile, readIgnoreFile, receiveContext } from './build-context.js';
import { checksumEntries, type CopyEntry, copyInto, fileDigest, resolveSources } from './copy-files.js';
import { StepEnv } from './expand.js';
import { ProgressWriter, type Vertex } from './progress.js';
import { type CacheRecord, exportCache, parseCacheSpec, RemoteCache } from './registry-cache.js';
import { runContainer, type StepRuntime } from './run-container.js';

/** The part of the overlay snapshotter a build uses (OverlaySnapshotter of @berth/snapshots). */
export interface BuildSnapshotter {
  exists(key: string): Promise<boolean>;
  prepare(key: string, parent?: string): Promise<Mount[]>;
  view(key: string, parent?: string): Promise<Mount[]>;
  commit(name: string, key: string): Promise<void>;
  remove(key: string): Promise<void>;
  upperDir(key: string): string;
  lowerDirs(key: string): string[];
}

export interface BuilderOptions {
  images: ImageStore;
  content: ContentStore;
  snapshotter: BuildSnapshotter;
  runtime: StepRuntime;
  db: MetadataDb;
  /**
   * Scratch space for contexts, bundles and mountpoints (e.g. `<data-root>/builder`); the RUN
   * cache mounts persist under `<workDir>/cache-mounts`.
   */
  workDir: string;
  /**
   * Pulls and pushes images of this host's store (the agent's RegistryTransfer). Without it a
   * missing base image is an error and `push` is refused.
   */
  registry?: BuildRegistry;
  /** Registries spoken to over plain HTTP besides loopback ones, for the registry cache. */
  insecureRegistries?: readonly string[];
}

/** One progress message of a pull or push (a TransferProgress of the agent). */
export interface TransferEvent {
  id: string;
  status: string;
  digest?: string;
}

/** Registry transfers into and out of the host's image store, with the given credentials. */
export interface BuildRegistry {
  /** Pulls `ref` into the image store (tagged `ref`). */
  pull(ref: string, auth?: Credentials): AsyncIterable<TransferEvent>;
  /** Pushes the local tag `ref` with its blobs. */
  push(ref: string, auth?: Credentials): AsyncIterable<TransferEvent>;
}

/** What `--output` streams back: an OCI layout tar, or the flattened rootfs as a tar. */
export type BuildOutputType = 'oci' | 'tar' | 'local';

export interface BuildRequest {
  /** The context as a tar stream (plain or gzip); absent or empty for none. */
  context?: AsyncIterable<Uint8Array>;
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
  /** Pull base images even when they are in the store (`--pull`). Needs `registry`. */
  pull?: boolean;
  /** Push every tag once built (`--push`). Needs `registry` and at least one tag. */
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
}

export interface BuildCallbacks {
  /** Each progress line (BuildKit plain style). */
  onProgress?: (line: string) => void;
  /** Each chunk of the `output` export, in order; awaited (back-pressure). */
  onOutput?: (chunk: Uint8Array) => Promise<void>;
}

export interface BuildResult {
  imageId: string;
  /** Parser warnings and `[Warning] One or more build-args [X] were not consumed`. */
  warnings: string[];
  /** Vertex counts: steps run and steps taken from the cache. */
  executed: number;
  cached: number;
}

/** A stage's image as it grows. */
interface StageState {
  stage: Stage;
  /** `[name i/n]` prefix. */
  label: string;
  total: number;
  position: number;
  config: ImageConfig;
  layers: Descriptor[];
  layerSizes: Map<string, number>;
  key: string;
  /** ARGs declared in the stage. */
  args: ArgScope;
  /** Whether CMD was set in this stage (ENTRYPOINT then keeps it). */
  cmdSet: boolean;
  /**
   * Layers and history entries of the image at the root of the stage's FROM chain (what
   * `--squash` keeps: the layers of every stage of the chain are squashed).
   */
  baseLayers: number;
  baseHistory: number;
  /** The id of the image at the root of the FROM chain (or `scratch`), for the squash history comment. */
  baseId: string;
  /** This stage does not read the cache (`--no-cache` or `--no-cache-filter`). */
  noCache: boolean;
  /**
   * Time of the newest step with a layer (or of the base image): the history time of the steps
   * after it and the image's `created`, so that a fully cached rebuild gives the same image id.
   */
  created: string;
}

interface BuildRun {
  dir: string;
  contextDir: string;
  file: string;
  dockerfile: Dockerfile;
  args: BuildArgs;
  /** The environment of FROM lines: automatic platform ARGs and meta ARGs. */
  fromEnv: Map<string, string>;
  progress: ProgressWriter;
  request: BuildRequest;
  noCache: boolean;
  noCacheFilter: Set<string>;
  results: Map<number, Promise<StageState>>;
  /** Images resolved (or pulled) by name in this build, each once. */
  images: Map<string, Promise<ImageRecord>>;
  /** Caches imported with `--cache-from`. */
  remote: RemoteCache[];
  /** Every layer step's record (hit or not), for `--cache-to`. */
  records: Map<string, CacheRecord>;
  registryClient: () => RegistryClient;
  executed: number;
  cached: number;
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const HISTORY_COMMENT = 'buildkit.dockerfile.v0';
/** Transfer messages repeated for every chunk: left out of the build's progress. */
const QUIET_TRANSFER_STATUSES = new Set(['Downloading', 'Extracting', 'Pushing', 'Waiting', 'Verifying Checksum']);
const EPOCH = '1970-01-01T00:00:00Z';

/**
 * Builds Dockerfiles into images of this host's store, as `docker build` does:
 *
 *   context tar → <workDir>/build-<rand>/context (.dockerignore applied)
 *   Dockerfile → stages; only those the target needs are built, each once
 *   each step: a cache key (parent key + instruction + the build args it sees + for COPY/ADD the
 *   checksum of what it copies); a hit reuses the recorded layer and config, a miss runs the step —
 *   RUN in a container on an overlay snapshot of the step before, COPY/ADD and WORKDIR by writing
 *   into such a snapshot directly — packs the snapshot's upper dir as the layer and commits the
 *   snapshot under the layer's chain ID (so the next step stacks on it without unpacking).
 *
 * A layer step's successors chain on its key and on the diff ID of its layer, so a step that ran
 * again and made other files invalidates what was built on it.
 *
 * Around the build: base images missing from the store (or all, with `pull`) are pulled through
 * `registry`; `cacheFrom` caches are read first and consulted after this host's cache; then
 * `squash`, the image written to the store, `output` streamed, every tag pushed (`push`), and the
 * build's cache records exported to each `cacheTo` registry reference.
 *
 * Progress goes to `onProgress` as BuildKit plain lines. Errors name the Dockerfile line:
 * `Dockerfile:5: RUN false: process "/bin/sh -c false" did not complete successfully: exit code: 1`.
 */
export class Builder {
  readonly #options: BuilderOptions;
  readonly cache: BuildCache;

  constructor(options: BuilderOptions) {
    this.#options = options;
    this.cache = new BuildCache(options.db, options.content);
  }

  async build(request: BuildRequest, options: BuildCallbacks = {}): Promise<BuildResult> {
    // Options that cannot work are refused before anything runs.
    if (request.push && !request.tags?.length) throw new InvalidArgumentError('Cannot push: the build has no tag (add -t name:tag)');
    if ((request.push || request.pull) && !this.#options.registry) {
      throw new FailedPreconditionError(`Cannot ${request.push ? 'push' : 'pull'}: this builder has no registry access`);
    }
    if (request.output && !options.onOutput) throw new InvalidArgumentError(`Cannot export type=${request.output}: nothing receives the output`);
    const cacheTo = (request.cacheTo ?? []).map((s) => parseCacheSpec(s, '--cache-to'));
    const cacheFrom = (request.cacheFrom ?? []).map((s) => parseCacheSpec(s, '--cache-from'));

    const progress = new ProgressWriter(options.onProgress ?? (() => undefined));
    await mkdir(this.#options.workDir, { recursive: true });
    const dir = await mkdtemp(join(this.#options.workDir, 'build-'));
    let client: RegistryClient | undefined;
    try {
      const contextDir = join(dir, 'context');
      await mkdir(contextDir);
      const file = request.dockerfileContent !== undefined ? (request.dockerfileName ?? 'Dockerfile') : (request.dockerfile ?? 'Dockerfile');

      const loadDef = progress.vertex(`[internal] load build definition from ${posix.basename(file)}`);
      let received = 0;
      if (request.context) received = await receiveContext(contextDir, request.context);
      const text = request.dockerfileContent ?? (await readDockerfile(contextDir, file));
      loadDef.status(`transferring dockerfile: ${Buffer.byteLength(text)}B done`);
      loadDef.done();

      const ignoreVertex = progress.vertex('[internal] load .dockerignore');
      const ignore = await readIgnoreFile(contextDir, request.dockerfileContent === undefined ? file : undefined);
      if (ignore) await applyIgnore(contextDir, ignore.patterns);
      ignoreVertex.status(`transferring context: ${ignore ? `${ignore.path} applied` : 'no .dockerignore'} done`);
      ignoreVertex.done();

      const dockerfile = parseDockerfile(text, { file });
      const args = new BuildArgs(request.buildArgs ?? {}, {
        automatic: automaticPlatformArgs(currentPlatform()),
        escape: dockerfile.directives.escape,
      });
      const run: BuildRun = {
        dir,
        contextDir,
        file,
        dockerfile,
        args,
        fromEnv: args.resolveMeta(dockerfile.metaArgs),
        progress,
        request,
        noCache: request.noCache ?? false,
        noCacheFilter: new Set((request.noCacheFilter ?? []).map((s) => s.toLowerCase())),
        results: new Map(),
        images: new Map(),
        remote: [],
        records: new Map(),
        registryClient: () =>
          (client ??= new RegistryClient({
            credentials: async (domain) => request.registryAuth?.[domain],
            insecureRegistries: [...(this.#options.insecureRegistries ?? [])],
          })),
        executed: 0,
        cached: 0,
      };
      const target = this.#targetStage(run, request.target);
      const ctxVertex = progress.vertex('[internal] load build context');
      ctxVertex.status(`transferring context: ${received}B done`);
      ctxVertex.done();
      for (const ref of cacheFrom) await this.#importCache(run, ref);

      const state = await this.#stage(run, target.index);
      if (request.squash) await this.#squash(run, state);
      const exporting = progress.vertex('exporting to image');
      const image = await this.#export(state, request);
      exporting.status('exporting layers done');
      exporting.status(`writing image ${image.id} done`);
      const tags = image.names.filter((n) => !n.includes('@'));
      for (const tag of tags) exporting.status(`naming to ${tag} done`);
      exporting.done();
      if (request.output) await this.#output(run, state, image, request.output, options.onOutput!);
      if (request.push) for (const tag of tags) await this.#push(run, tag);
      for (const ref of cacheTo) await this.#exportCache(run, ref);

      const warnings = [...dockerfile.warnings];
      const unused = args.unusedWarning();
      if (unused) warnings.push(unused);
      return { imageId: image.id, warnings, executed: run.executed, cached: run.cached };
    } finally {
      client?.close();
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  // ---------------------------------------------------------------- registry

  /** Credentials for the registry of `ref`, if the request has some. */
  #auth(run: BuildRun, ref: Reference): Credentials | undefined {
    return run.request.registryAuth?.[ref.domain];
  }

  /**
   * The image `name` names, resolved once per build: from the store, or pulled when it is missing
   * there (or always, with `pull`) and the builder has registry access.
   */
  #image(run: BuildRun, name: string): Promise<ImageRecord> {
    let image = run.images.get(name);
    if (!image) {
      image = this.#resolveOrPull(run, name);
      run.images.set(name, image);
    }
    return image;
  }

  async #resolveOrPull(run: BuildRun, name: string): Promise<ImageRecord> {
    const { images, registry } = this.#options;
    let ref: Reference | undefined;
    try {
      ref = parseReference(name, { defaultTag: true });
    } catch {
      ref = undefined; // an image id: only the store can have it
    }
    if (!run.request.pull || !registry || !ref) {
      try {
        return await images.resolve(name);
      } catch (err) {
        if (!(err instanceof NotFoundError) || !registry || !ref) throw err;
      }
    }
    const vertex = run.progress.vertex(`[internal] load metadata for ${ref.toString()}`);
    try {
      for await (const e of registry.pull(ref.toString(), this.#auth(run, ref))) {
        if (QUIET_TRANSFER_STATUSES.has(e.status)) continue;
        vertex.status(e.id ? `${e.id}: ${e.status}` : e.status);
      }
    } catch (err) {
      vertex.error(err instanceof Error ? err.message : String(err));
      throw err;
    }
    vertex.done();
    return images.resolve(ref.toString());
  }

  /** `--push`: pushes `tag` through the registry transfer, its messages as a vertex. */
  async #push(run: BuildRun, tag: string): Promise<void> {
    const ref = parseReference(tag);
    const vertex = run.progress.vertex(`pushing ${ref.toString()}`);
    try {
      for await (const e of this.#options.registry!.push(ref.toString(), this.#auth(run, ref))) {
        if (QUIET_TRANSFER_STATUSES.has(e.status)) continue;
        vertex.status(e.id ? `${e.id}: ${e.status}` : e.status);
      }
    } catch (err) {
      vertex.error(err instanceof Error ? err.message : String(err));
      throw err;
    }
    vertex.done();
  }

  /**
   * `--cache-from`: reads the records of the cache at `ref`. A cache that cannot be read is a
   * warning, not an error (as with BuildKit): the build goes on without it.
   */
  async #importCache(run: BuildRun, ref: Reference): Promise<void> {
    const vertex = run.progress.vertex(`importing cache manifest from ${ref.toString()}`);
    try {
      const remote = await RemoteCache.load(run.registryClient(), ref);
      run.remote.push(remote);
      vertex.status(`${remote.size} cache records done`);
    } catch (err) {
      vertex.status(`WARNING: cannot import the cache "${ref.toString()}": ${err instanceof Error ? err.message : String(err)}`);
    }
    vertex.done();
  }

  /** `--cache-to`: pushes the records of every layer step of this build (hits included). */
  async #exportCache(run: BuildRun, ref: Reference): Promise<void> {
    const vertex = run.progress.vertex(`exporting cache to registry ${ref.toString()}`);
    try {
      const digest = await exportCache(run.registryClient(), this.#options.content, ref, [...run.records.values()]);
      vertex.status(`writing cache manifest ${digest} done`);
    } catch (err) {
      vertex.error(err instanceof Error ? err.message : String(err));
      throw err;
    }
    vertex.done();
  }

  /** A step's record: this host's cache first, then the imported ones (fetching the layer blob). */
  async #cached(run: BuildRun, key: string): Promise<CachedStep | undefined> {
    const local = await this.cache.get(key);
    if (local) return local;
    for (const remote of run.remote) {
      const record = remote.get(key);
      if (!record) continue;
      await remote.fetchLayer(this.#options.content, record);
      const { key: _key, ...step } = record;
      this.cache.put(key, step);
      return step;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- output

  /**
   * `--output`: streams the image as an OCI layout tar (`oci`), or its flattened root filesystem
   * as a tar (`tar`, `local`: the client writes the file or unpacks it).
   */
  async #output(run: BuildRun, state: StageState, image: ImageRecord, type: BuildOutputType, write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
    const vertex = run.progress.vertex(type === 'oci' ? 'exporting to oci image format' : type === 'tar' ? 'exporting to client tarball' : 'exporting to client directory');
    let sent = 0;
    const send = async (stream: Readable) => {
      for await (const chunk of stream) {
        sent += (chunk as Buffer).length;
        await write(chunk as Buffer);
      }
    };
    try {
      if (type === 'oci') {
        const tags = image.names.filter((n) => !n.includes('@'));
        await send(this.#options.images.save(tags.length > 0 ? tags : [image.id]));
      } else {
        const view = await this.#mountView(run, state.config.rootfs.diff_ids, state.layers);
        try {
          await send(packDirectory(view.path).stream);
        } finally {
          await view.release();
        }
      }
    } catch (err) {
      vertex.error(err instanceof Error ? err.message : String(err));
      throw err;
    }
    vertex.status(`sending tarball ${sent}B done`);
    vertex.done();
  }

  // ---------------------------------------------------------------- squash

  /**
   * `--squash`: the layers this stage made become one, on top of the base's layers. The history
   * keeps every step, marked `empty_layer`, and gains a `merge` entry for the new layer. The
   * squashed layer is cached under the stage's last key (a rebuild gives the same image).
   */
  async #squash(run: BuildRun, state: StageState): Promise<void> {
    const count = state.layers.length - state.baseLayers;
    if (count <= 0) return;
    const vertex = run.progress.vertex(`squashing ${count} layer${count === 1 ? '' : 's'}`);
    const diffIds = state.config.rootfs.diff_ids;
    const unsquashed = `sha256:${createHash('sha256').update(JSON.stringify(state.config)).digest('hex')}`;
    const key = cacheKey(state.key, 'SQUASH', String(state.baseLayers));
    const finish = (layer: { descriptor: Descriptor; diffId: string; size: number }) => {
      state.layers = state.layers.slice(0, state.baseLayers);
      state.config.rootfs = { type: 'layers', diff_ids: diffIds.slice(0, state.baseLayers) };
      this.#appendLayer(state, layer);
      const history = state.config.history ?? [];
      for (const entry of history.slice(state.baseHistory)) entry.empty_layer = true;
      history.push({ created: state.created, comment: `merge ${unsquashed} to ${state.baseId}` });
      state.config.history = history;
    };
    const hit = state.noCache ? undefined : await this.cache.get(key);
    if (hit?.layer) {
      finish(hit.layer);
      vertex.cached();
      return;
    }
    const parent = await this.#ensureChain(diffIds.slice(0, state.baseLayers), state.layers.slice(0, state.baseLayers));
    const snapshot = `build-squash-${randomBytes(8).toString('hex')}`;
    const rootfs = join(run.dir, snapshot);
    await mkdir(rootfs, { recursive: true });
    const mounts = await this.#options.snapshotter.prepare(snapshot, parent);
    let committed = false;
    try {
      // Applying each layer onto the mounted overlay turns its deletions into whiteouts of the
      // upper dir, which then holds exactly the squashed change.
      await mountAll(mounts, rootfs);
      try {
        for (const layer of state.layers.slice(state.baseLayers)) {
          await applyLayer(rootfs, this.#options.content.createReadStream(layer.digest), { whiteouts: 'remove' });
        }
      } finally {
        await unmount(rootfs);
      }
      const layer = await ingestLayer(this.#options.content, packDirectory(this.#options.snapshotter.upperDir(snapshot), { upper: true }).stream);
      const chain = chainIds([...diffIds.slice(0, state.baseLayers), layer.diffId]).at(-1)!;
      try {
        await this.#options.snapshotter.commit(chain, snapshot);
        committed = true;
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
      this.cache.put(key, { layer, config: structuredClone(state.config.config ?? {}), createdBy: 'squash', created: state.created });
      finish(layer);
    } catch (err) {
      vertex.error(err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      if (!committed) await this.#options.snapshotter.remove(snapshot).catch(() => undefined);
    }
    vertex.done();
  }

  /** `berth builder prune`. */
  prune(options: { olderThan?: Date } = {}): Promise<{ records: number; reclaimed: number }> {
    return this.cache.prune(options);
  }

  // ---------------------------------------------------------------- stages

  #targetStage(run: BuildRun, target?: string): Stage {
    const stages = run.dockerfile.stages;
    if (!target) return stages.at(-1)!;
    const found = stages.find((s) => s.name === target.toLowerCase()) ?? (/^\d+$/.test(target) ? stages[Number(target)] : undefined);
    if (!found) throw new InvalidArgumentError(`Target stage "${target}" could not be found in ${run.file}`);
    return found;
  }

  /** An earlier stage named (or numbered) `ref` from stage `before`, if any. */
  #stageByRef(run: BuildRun, ref: string, before: number): Stage | undefined {
    const lower = ref.toLowerCase();
    const named = run.dockerfile.stages.find((s) => s.index < before && s.name === lower);
    if (named) return named;
    if (/^\d+$/.test(ref) && Number(ref) < before) return run.dockerfile.stages[Number(ref)];
    return undefined;
  }

  /** Builds stage `index` once per build (later requests share the result). */
  #stage(run: BuildRun, index: number): Promise<StageState> {
    let result = run.results.get(index);
    if (!result) {
      result = this.#buildStage(run, run.dockerfile.stages[index]!);
      run.results.set(index, result);
    }
    return result;
  }

  async #buildStage(run: BuildRun, stage: Stage): Promise<StageState> {
    const escape = run.dockerfile.directives.escape;
    const from = stage.from;
    const baseName = this.#expand(run, from, () => new StepEnv(run.fromEnv, escape).word(from.image));
    const baseStage = this.#stageByRef(run, baseName, stage.index);
    // `root`: the layers and history of the image at the root of the FROM chain (what --squash keeps).
    let base: {
      config: ImageConfig;
      layers: Descriptor[];
      key: string;
      layerSizes: Map<string, number>;
      title: string;
      id: string;
      root?: { layers: number; history: number };
    };
    if (baseStage) {
      const s = await this.#stage(run, baseStage.index);
      base = {
        config: structuredClone(s.config),
        layers: [...s.layers],
        key: s.key,
        layerSizes: new Map(s.layerSizes),
        title: baseName,
        id: s.baseId,
        root: { layers: s.baseLayers, history: s.baseHistory },
      };
    } else if (baseName.toLowerCase() === 'scratch') {
      const platform = currentPlatform();
      base = {
        config: { architecture: platform.architecture, os: platform.os, config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
        layers: [],
        key: baseKey('scratch'),
        layerSizes: new Map(),
        title: 'scratch',
        id: 'scratch',
      };
    } else {
      let image: ImageRecord;
      try {
        image = await this.#image(run, baseName);
      } catch (err) {
        if (err instanceof NotFoundError && !this.#options.registry) {
          throw located(run, from, new NotFoundError(`base image "${baseName}" is not in this host's image store (pull or bootstrap it first)`, { cause: err }));
        }
        throw located(run, from, err);
      }
      const { container: _c, container_config: _cc, docker_version: _d, comment: _m, ...inherited } = image.config;
      base = {
        config: {
          ...structuredClone(inherited),
          config: structuredClone(image.config.config ?? {}),
          history: image.config.history?.length ? structuredClone(image.config.history) : image.config.rootfs.diff_ids.map(() => ({ created: image.created })),
        },
        layers: [...image.manifest.layers],
        key: baseKey(image),
        layerSizes: new Map(),
        title: image.names.find((n) => !n.includes('@')) ?? image.id,
        id: image.id,
      };
    }

    // ONBUILD triggers of the base run first, then the base's triggers are dropped.
    const triggers = this.#expand(run, from, () =>
      parseOnbuildTriggers(base.config.config?.OnBuild ?? [], { file: `ONBUILD of ${base.title}` }),
    );
    if (base.config.config) delete base.config.config.OnBuild;
    const instructions: Instruction[] = [...triggers, ...stage.instructions];
    const total = 1 + instructions.filter((i) => ['RUN', 'COPY', 'ADD', 'WORKDIR'].includes(i.kind)).length;
    const multi = run.dockerfile.stages.length > 1;
    const state: StageState = {
      stage,
      label: multi ? `${stage.name ?? `stage-${stage.index}`} ` : '',
      total,
      position: 1,
      config: base.config,
      layers: base.layers,
      layerSizes: base.layerSizes,
      key: base.key,
      args: run.args.stageScope(),
      cmdSet: false,
      baseLayers: base.root?.layers ?? base.layers.length,
      baseHistory: base.root?.history ?? base.config.history?.length ?? 0,
      baseId: base.id,
      noCache: run.noCache || run.noCacheFilter.has(stage.name ?? '') || run.noCacheFilter.has(String(stage.index)),
      created: base.config.created ?? EPOCH,
    };
    // The stages this one copies from are built first, side by side (they do not depend on
    // each other through this stage). A `--from` using a stage ARG is resolved when its COPY runs.
    const deps = new Set<number>();
    for (const ins of instructions) {
      if (ins.kind !== 'COPY' || !ins.from || ins.from.includes('$')) continue;
      const dep = this.#stageByRef(run, ins.from, stage.index);
      if (dep) deps.add(dep.index);
    }
    await Promise.all([...deps].map((i) => this.#stage(run, i)));
    const fromVertex = run.progress.vertex(`[${state.label}1/${total}] FROM ${base.title}`);
    fromVertex.done();
    for (const ins of instructions) {
      try {
        await this.#step(run, state, ins);
      } catch (err) {
        throw located(run, ins, err);
      }
    }
    return state;
  }

  // ---------------------------------------------------------------- steps

  /** Expansion env of a step: declared ARGs with values, overlaid by the config's Env. */
  #env(run: BuildRun, state: StageState): StepEnv {
    const env = new Map<string, string>();
    for (const entry of state.config.config?.Env ?? []) {
      const i = entry.indexOf('=');
      if (i > 0) env.set(entry.slice(0, i), entry.slice(i + 1));
    }
    return new StepEnv(state.args.environment(env), run.dockerfile.directives.escape);
  }

  #expand<T>(run: BuildRun, ins: Instruction, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw located(run, ins, err);
    }
  }

  async #step(run: BuildRun, state: StageState, ins: Instruction): Promise<void> {
    const config: ContainerConfig = (state.config.config ??= {});
    const env = this.#env(run, state);
    switch (ins.kind) {
      case 'ARG': {
        const declared = state.args.declare(ins, env.vars, { escape: run.dockerfile.directives.escape });
        // The values stay out of the key: only the steps that use an ARG depend on its value.
        return this.#metadata(run, state, ins, declared.map((d) => d.name));
      }
      case 'ENV': {
        const pairs = ins.pairs.map(([k, v]) => [env.word(k), env.word(v)] as const);
        for (const [k, v] of pairs) config.Env = setEnv(config.Env ?? [], k, v);
        return this.#metadata(run, state, ins, pairs.flat());
      }
      case 'LABEL': {
        const pairs = ins.pairs.map(([k, v]) => [env.word(k), env.word(v)] as const);
        config.Labels = { ...(config.Labels ?? {}) };
        for (const [k, v] of pairs) config.Labels[k] = v;
        return this.#metadata(run, state, ins, pairs.flat());
      }
      case 'MAINTAINER':
        state.config.author = ins.name;
        return this.#metadata(run, state, ins, [ins.name]);
      case 'EXPOSE': {
        const ports = ins.ports.flatMap((p) => env.words(p)).map((p) => (p.includes('/') ? p.toLowerCase() : `${p}/tcp`));
        config.ExposedPorts = { ...(config.ExposedPorts ?? {}) };
        for (const p of ports) config.ExposedPorts[p] = {};
        return this.#metadata(run, state, ins, ports);
      }
      case 'VOLUME': {
        const paths = ins.paths.map((p) => env.word(p)).filter((p) => p !== '');
        if (paths.length === 0) throw new InvalidArgumentError('VOLUME specified can not be an empty string');
        config.Volumes = { ...(config.Volumes ?? {}) };
        for (const p of paths) config.Volumes[p] = {};
        return this.#metadata(run, state, ins, paths);
      }
      case 'USER':
        config.User = env.word(ins.user);
        return this.#metadata(run, state, ins, [config.User]);
      case 'STOPSIGNAL':
        config.StopSignal = env.word(ins.signal);
        return this.#metadata(run, state, ins, [config.StopSignal]);
      case 'SHELL':
        config.Shell = [...ins.shell];
        return this.#metadata(run, state, ins, ins.shell);
      case 'ONBUILD':
        config.OnBuild = [...(config.OnBuild ?? []), ins.text];
        return this.#metadata(run, state, ins, [ins.text]);
      case 'HEALTHCHECK': {
        const hc: NonNullable<ContainerConfig['Healthcheck']> = { Test: [...ins.test] };
        if (ins.interval !== undefined) hc.Interval = ins.interval;
        if (ins.timeout !== undefined) hc.Timeout = ins.timeout;
        if (ins.startPeriod !== undefined) hc.StartPeriod = ins.startPeriod;
        if (ins.startInterval !== undefined) (hc as Record<string, unknown>).StartInterval = ins.startInterval;
        if (ins.retries !== undefined) hc.Retries = ins.retries;
        config.Healthcheck = hc;
        return this.#metadata(run, state, ins, [JSON.stringify(hc)]);
      }
      case 'CMD':
        config.Cmd = commandForm(ins.command, config.Shell);
        state.cmdSet = true;
        return this.#metadata(run, state, ins, config.Cmd);
      case 'ENTRYPOINT':
        config.Entrypoint = commandForm(ins.command, config.Shell);
        if (!state.cmdSet) delete config.Cmd;
        return this.#metadata(run, state, ins, config.Entrypoint);
      case 'WORKDIR':
        return this.#workdir(run, state, ins.path, env);
      case 'RUN':
        return this.#run(run, state, ins);
      case 'COPY':
      case 'ADD':
        return this.#copy(run, state, ins, env);
      case 'FROM':
        throw new InvalidArgumentError('FROM cannot be used here');
    }
  }

  /** A step that only changes the config: an empty-layer history entry, the key chained. */
  #metadata(_run: BuildRun, state: StageState, ins: Instruction, values: readonly string[]): void {
    state.key = cacheKey(state.key, ins.kind, JSON.stringify(values), JSON.stringify(state.config.config ?? {}));
    this.#history(state, createdByOf(ins), true);
  }

  #history(state: StageState, createdBy: string, empty: boolean): void {
    const entry: HistoryEntry = { created: state.created, created_by: createdBy, comment: HISTORY_COMMENT };
    if (empty) entry.empty_layer = true;
    (state.config.history ??= []).push(entry);
  }

  async #workdir(run: BuildRun, state: StageState, raw: string, env: StepEnv): Promise<void> {
    const config = state.config.config!;
    const path = posix.resolve(config.WorkingDir || '/', env.word(raw));
    config.WorkingDir = path;
    const user = config.User ?? '';
    const key = cacheKey(state.key, 'WORKDIR', path, user);
    await this.#layerStep(run, state, { title: `WORKDIR ${path}`, key, createdBy: `WORKDIR ${path}`, optionalLayer: true }, async (rootfs) => {
      const host = await securePath(rootfs, path);
      await mkdir(host, { recursive: true });
      if (user) {
        const { uid, gid } = await resolveUser(rootfs, user);
        await lchown(host, uid, gid);
      }
    });
  }

  async #run(run: BuildRun, state: StageState, ins: Extract<Instruction, { kind: 'RUN' }>): Promise<void> {
    const config = state.config.config!;
    // Cache mounts are persistent directories of this host; the other types change what the
    // command sees and are refused rather than silently ignored.
    const unsupported = ins.mounts.find((m) => m.type !== 'cache');
    if (unsupported) throw new InvalidArgumentError(`RUN --mount=type=${unsupported.type} is not supported yet`);
    const shell = config.Shell?.length ? config.Shell : DEFAULT_SHELL;
    const command = resolveRunCommand(ins, shell);
    const args = command.args;
    // The ARGs in scope reach the command as environment variables (ENV wins) and are part of its
    // cache key: a RUN after `ARG V` reruns when V changes. Proxy build args reach it too, but stay
    // out of the key and the history.
    const envNames = new Set((config.Env ?? []).map((e) => e.split('=')[0]!));
    const visibleArgs = [...state.args.values()].filter(([k]) => !envNames.has(k)).map(([k, v]) => `${k}=${v}`);
    const proxies = [...run.args.proxyEnv()].filter(([k]) => !envNames.has(k) && !state.args.has(k)).map(([k, v]) => `${k}=${v}`);
    const env = [...visibleArgs, ...proxies, ...(config.Env ?? [])];
    const prefix = visibleArgs.length > 0 ? `|${visibleArgs.length} ${visibleArgs.join(' ')} ` : '';
    const createdBy = `RUN ${prefix}${args.join(' ')} # buildkit`;
    const key = cacheKey(state.key, 'RUN', ins.original, JSON.stringify(visibleArgs), ins.network ?? '');
    const title = ins.original.split('\n')[0]!;
    const stepEnv = this.#env(run, state);
    await this.#layerStep(run, state, { title: normalizeKeyword(title, 'RUN'), key, createdBy }, async (rootfs, vertex, bundle) => {
      const cacheMounts = await prepareCacheMounts(join(this.#options.workDir, 'cache-mounts'), rootfs, ins.mounts, {
        cwd: config.WorkingDir || '/',
        expand: (w) => stepEnv.word(w),
      });
      const exitCode = await runContainer(this.#options.runtime, {
        mounts: cacheMounts.mounts,
        id: `build-${randomBytes(12).toString('hex')}`,
        bundle,
        rootfs,
        args,
        env,
        cwd: config.WorkingDir || '/',
        user: config.User,
        network: ins.network === 'none' ? 'none' : 'host',
        ...(command.script ? { script: command.script } : {}),
        onOutput: (text) => vertex.output(text),
      }).finally(() => cacheMounts.cleanup());
      if (exitCode !== 0) {
        throw new FailedPreconditionError(`process "${args.join(' ')}" did not complete successfully: exit code: ${exitCode}`, {
          code: 'BUILD_STEP_FAILED',
          detail: { exitCode },
        });
      }
    });
  }

  async #copy(run: BuildRun, state: StageState, ins: Extract<Instruction, { kind: 'COPY' | 'ADD' }>, env: StepEnv): Promise<void> {
    const config = state.config.config!;
    const sources = ins.sources.map((s) => env.word(s));
    const rawDest = env.word(ins.dest);
    const dest = posix.resolve(config.WorkingDir || '/', rawDest) + (rawDest.endsWith('/') && rawDest !== '/' ? '/' : '');
    const chown = ins.chown ? env.word(ins.chown) : undefined;
    const chmod = ins.chmod ? parseMode(env.word(ins.chmod)) : undefined;
    const excludes = ins.excludes.map((e) => env.word(e));
    const from = ins.kind === 'COPY' && ins.from ? env.word(ins.from) : undefined;

    // Where the sources come from: the context, another stage, or an image.
    let sourceRoot = run.contextDir;
    let release = async () => undefined as void;
    let fromKey = '';
    if (from) {
      const fromStage = this.#stageByRef(run, from, state.stage.index);
      let layers: { diffIds: string[]; layers: Descriptor[] };
      if (fromStage) {
        const s = await this.#stage(run, fromStage.index);
        layers = { diffIds: s.config.rootfs.diff_ids, layers: s.layers };
        fromKey = s.key;
      } else {
        const image = await this.#image(run, from).catch((err) => {
          throw err instanceof NotFoundError ? new NotFoundError(`COPY --from="${from}": no stage or image of that name`, { cause: err }) : err;
        });
        layers = { diffIds: image.config.rootfs.diff_ids, layers: image.manifest.layers };
        fromKey = image.id;
      }
      const view = await this.#mountView(run, layers.diffIds, layers.layers);
      sourceRoot = view.path;
      release = view.release;
    }
    try {
      // Heredoc sources become files of a scratch directory, named after their delimiter.
      let entries: CopyEntry[] = [];
      if (ins.heredocs.length > 0) {
        const hdDir = join(run.dir, `heredoc-${randomBytes(6).toString('hex')}`);
        await mkdir(hdDir);
        for (const doc of ins.heredocs) {
          await writeFile(join(hdDir, doc.name), expandHeredoc(doc, env.vars, { escape: run.dockerfile.directives.escape }), { mode: 0o644 });
          entries.push({ path: join(hdDir, doc.name), name: doc.name, isDirectory: false });
        }
      }
      const local: string[] = [];
      const remote: string[] = [];
      for (const s of sources) (ins.kind === 'ADD' && /^https?:\/\//.test(s) ? remote : local).push(s);
      if (local.length > 0) entries.push(...(await resolveSources(sourceRoot, local, { context: !from, excludes })));
      for (const url of remote) entries.push(await this.#download(run, url, ins.kind === 'ADD' ? ins.checksum : undefined));

      const checksum = await checksumEntries(entries, { withOwner: Boolean(from) });
      const key = cacheKey(state.key, ins.kind, JSON.stringify({ sources, dest, chown, chmod, excludes, from: fromKey }), checksum);
      const title = normalizeKeyword(ins.original.split('\n')[0]!, ins.kind);
      const createdBy = `${title} # buildkit`;
      const extract = ins.kind === 'ADD' && (ins.unpack ?? true);
      await this.#layerStep(run, state, { title, key, createdBy }, async (rootfs) => {
        const owner = chown ? await resolveUser(rootfs, chown) : undefined;
        await copyInto(rootfs, entries, {
          dest,
          ...(owner ? { owner: { uid: owner.uid, gid: owner.gid } } : {}),
          keepOwner: Boolean(from),
          ...(chmod !== undefined ? { mode: chmod } : {}),
          extractArchives: extract,
        });
      });
    } finally {
      await release();
    }
  }

  /** ADD <url>: downloads into the build dir (verifying `--checksum`), as a file named after the URL. */
  async #download(run: BuildRun, url: string, checksum?: string): Promise<CopyEntry> {
    const res = await fetch(url).catch((err) => {
      throw new FailedPreconditionError(`Cannot download "${url}": ${(err as Error).message}`, { cause: err });
    });
    if (!res.ok) throw new FailedPreconditionError(`Cannot download "${url}": HTTP ${res.status}`);
    const dir = join(run.dir, `download-${randomBytes(6).toString('hex')}`);
    await mkdir(dir);
    const name = urlName(url);
    const path = join(dir, name);
    await writeFile(path, Buffer.from(await res.arrayBuffer()), { mode: 0o600 });
    if (checksum) {
      const digest = await fileDigest(path);
      if (digest !== checksum) throw new InvalidArgumentError(`digest mismatch for "${url}": expected "${checksum}", got "${digest}"`);
    }
    return { path, name, isDirectory: false, remote: true };
  }

  /**
   * The shared step of RUN, COPY, ADD and WORKDIR. On a cache hit the recorded layer is appended;
   * otherwise an active snapshot on the stage's layers is mounted, `work` changes it, and its upper
   * dir becomes the layer (none when `work` changed nothing: an existing WORKDIR).
   */
  async #layerStep(
    run: BuildRun,
    state: StageState,
    step: { title: string; key: string; createdBy: string; optionalLayer?: boolean },
    work: (rootfs: string, vertex: Vertex, bundle: string) => Promise<void>,
  ): Promise<void> {
    const { title, key, createdBy } = step;
    state.position++;
    const vertex = run.progress.vertex(`[${state.label}${state.position}/${state.total}] ${title}`);
    if (!state.noCache) {
      const hit = await this.#cached(run, key);
      if (hit) {
        run.records.set(key, { key, ...hit });
        run.cached++;
        state.config.config = structuredClone(hit.config);
        state.created = hit.created;
        if (hit.layer) this.#appendLayer(state, hit.layer);
        this.#history(state, hit.createdBy, !hit.layer);
        state.key = chainKey(key, hit.layer?.diffId);
        vertex.cached();
        return;
      }
    }
    run.executed++;
    const parent = await this.#ensureChain(state.config.rootfs.diff_ids, state.layers);
    const snapshot = `build-${randomBytes(8).toString('hex')}`;
    const bundle = join(run.dir, snapshot);
    const rootfs = join(bundle, 'rootfs');
    await mkdir(rootfs, { recursive: true });
    const mounts = await this.#options.snapshotter.prepare(snapshot, parent);
    let committed = false;
    try {
      await mountAll(mounts, rootfs);
      try {
        await work(rootfs, vertex, bundle);
      } finally {
        await unmount(rootfs);
      }
      const upper = this.#options.snapshotter.upperDir(snapshot);
      let layer: { descriptor: Descriptor; diffId: string; size: number } | undefined;
      if (!step.optionalLayer || (await readdir(upper)).length > 0) {
        layer = await ingestLayer(this.#options.content, packDirectory(upper, { upper: true }).stream);
        const chain = chainIds([...state.config.rootfs.diff_ids, layer.diffId]).at(-1)!;
        try {
          await this.#options.snapshotter.commit(chain, snapshot);
          committed = true;
        } catch (err) {
          if (!(err instanceof AlreadyExistsError)) throw err;
        }
        this.#appendLayer(state, layer);
      }
      state.created = new Date().toISOString();
      this.#history(state, createdBy, !layer);
      const record: CachedStep = { ...(layer ? { layer } : {}), config: structuredClone(state.config.config ?? {}), createdBy, created: state.created };
      this.cache.put(key, record);
      run.records.set(key, { key, ...record });
      state.key = chainKey(key, layer?.diffId);
      vertex.done();
    } catch (err) {
      vertex.error(err instanceof Error ? err.message : String(err));
      throw err;
    } finally {
      if (!committed) await this.#options.snapshotter.remove(snapshot).catch(() => undefined);
    }
  }

  #appendLayer(state: StageState, layer: { descriptor: Descriptor; diffId: string; size: number }): void {
    state.layers.push(layer.descriptor);
    state.config.rootfs = { type: 'layers', diff_ids: [...state.config.rootfs.diff_ids, layer.diffId] };
    state.layerSizes.set(layer.diffId, layer.size);
  }

  /**
   * Makes sure a committed snapshot exists for every layer chain (applying missing layers from the
   * content store, as the image store's unpack does) and returns the top chain ID.
   */
  async #ensureChain(diffIds: string[], layers: Descriptor[]): Promise<string | undefined> {
    const snapshotter = this.#options.snapshotter;
    const chains = chainIds(diffIds);
    for (const [i, chain] of chains.entries()) {
      if (await snapshotter.exists(chain)) continue;
      const key = `extract-${randomBytes(8).toString('hex')}`;
      await snapshotter.prepare(key, i > 0 ? chains[i - 1] : undefined);
      try {
        const { diffId } = await applyLayer(snapshotter.upperDir(key), this.#options.content.createReadStream(layers[i]!.digest), {
          whiteouts: 'overlay',
          lowers: snapshotter.lowerDirs(key),
        });
        if (diffId !== diffIds[i]) throw new FailedPreconditionError(`Layer ${i} has diff ID "${diffId}", expected "${diffIds[i]}"`);
        try {
          await snapshotter.commit(chain, key);
        } catch (err) {
          if (!(err instanceof AlreadyExistsError)) throw err;
          await snapshotter.remove(key);
        }
      } catch (err) {
        await snapshotter.remove(key).catch(() => undefined);
        throw err;
      }
    }
    return chains.at(-1);
  }

  /** A read-only mount of the filesystem of `layers` (for COPY --from); `release` unmounts it. */
  async #mountView(run: BuildRun, diffIds: string[], layers: Descriptor[]): Promise<{ path: string; release: () => Promise<void> }> {
    const parent = await this.#ensureChain(diffIds, layers);
    const key = `build-view-${randomBytes(8).toString('hex')}`;
    const path = join(run.dir, key);
    await mkdir(path, { recursive: true });
    const mounts = await this.#options.snapshotter.view(key, parent);
    try {
      await mountAll(mounts, path);
    } catch (err) {
      await this.#options.snapshotter.remove(key).catch(() => undefined);
      throw err;
    }
    return {
      path,
      release: async () => {
        await unmount(path).catch(() => undefined);
        await this.#options.snapshotter.remove(key).catch(() => undefined);
      },
    };
  }

  async #export(state: StageState, request: BuildRequest): Promise<ImageRecord> {
    const config = structuredClone(state.config);
    if (request.labels && Object.keys(request.labels).length > 0) {
      config.config = { ...(config.config ?? {}), Labels: { ...(config.config?.Labels ?? {}), ...request.labels } };
    }
    config.created = state.created;
    return this.#options.images.writeImage({
      config,
      layers: state.layers,
      names: request.tags ?? [],
      ...(request.tags?.length ? { action: 'tag' as const } : {}),
      layerSizes: state.layerSizes,
    });
  }
}

// ---------------------------------------------------------------- helpers

/**
 * The key the steps after a layer step chain on: the step's key and the diff ID of the layer it
 * produced. A step that ran again (`--no-cache`, `--no-cache-filter`) and made different files
 * thus changes the keys of everything built on it, in this stage and in the stages FROM it.
 */
function chainKey(key: string, diffId: string | undefined): string {
  return diffId ? cacheKey(key, 'LAYER', diffId) : key;
}


function setEnv(env: string[], key: string, value: string): string[] {
  const out = env.filter((e) => e.split('=')[0] !== key);
  out.push(`${key}=${value}`);
  return out;
}

/** Exec form as is; shell form wrapped in the shell (`/bin/sh -c "…"`). */
function commandForm(command: string[] | string, shell?: string[]): string[] {
  if (Array.isArray(command)) return [...command];
  return [...(shell?.length ? shell : DEFAULT_SHELL), command];
}



function parseMode(text: string): number {
  if (!/^[0-7]{3,4}$/.test(text)) throw new InvalidArgumentError(`invalid --chmod value "${text}": expected an octal mode like 755`);
  return parseInt(text, 8);
}

function urlName(url: string): string {
  const path = new URL(url).pathname;
  return posix.basename(path) || 'index.html';
}

function normalizeKeyword(text: string, kind: string): string {
  return kind + text.slice(kind.length);
}

/** The history `created_by` of a metadata step: the instruction as written, keyword upper-cased. */
function createdByOf(ins: Instruction): string {
  return normalizeKeyword(ins.original.split('\n')[0]!, ins.kind);
}


/**
 * The error of a step, prefixed with where it happened: `Dockerfile:7: COPY a /b: "a" not found`
 * (the error class is kept). DockerfileErrors already say where.
 */
function located(run: BuildRun, ins: Instruction, err: unknown): Error {
  if (err instanceof DockerfileError) return err;
  if (err instanceof BerthError && err.detail?.located) return err;
  const message = err instanceof Error ? err.message : String(err);
  const text = `${ins.location.file || run.file}:${ins.location.line}: ${ins.original.split('\n')[0]}: ${message}`;
  if (err instanceof BerthError) {
    const Class = err.constructor as new (message: string, options: ConstructorParameters<typeof BerthError>[1]) => BerthError;
    return new Class(text, { code: err.code, cause: err, detail: { ...(err.detail ?? {}), located: true, line: ins.location.line } });
  }
  return new InvalidArgumentError(text, { cause: err, detail: { located: true, line: ins.location.line } });
}

