import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { automaticPlatformArgs, BuildArgs, parseDockerfile } from '@berth/dockerfile';
import { BerthError, InvalidArgumentError } from '@berth/errors';
import { hostModeHostsFile, parseExtraHost } from '@berth/network';
import { currentPlatform, formatPlatform, matchPlatform, parsePlatform } from '@berth/oci';
import { credentialsFor, type PlatformRegistry, platformRegistryTransport, RegistryClient } from '@berth/registry-client';
import type { BuildWorker } from '@berth/worker';
import { takeBuildLease } from './build-lease.js';
import type { BuildCallbacks, BuildRequest, BuildResult } from './build-request.js';
import { BuildCache, STALE_CACHE } from './cache/build-cache.js';
import { parseCacheSpec } from './cache/registry-cache.js';
import { applyIgnore, readDockerfile, readIgnoreFile, receiveContext } from './context/build-context.js';
import { ContextStore, type SyncedContext } from './context/context-store.js';
import { indexReader } from './context/index-reader.js';
import { exportCacheTo, importCache } from './exporters/cache-exporter.js';
import { exportImage } from './exporters/image-exporter.js';
import { exportOutput } from './exporters/output-exporter.js';
import { pushTag } from './exporters/push-exporter.js';
import { buildGraph } from './frontend/build-graph.js';
import { PhaseTrace, tracedWorker } from './phase-trace.js';
import { ProgressWriter } from './progress.js';
import { type BuildRun, flushLayers } from './solver/build-run.js';
import { Solver } from './solver/solver.js';
import { squash } from './solver/squash.js';
import type { StageState } from './solver/stage-state.js';

export interface BuilderOptions {
  /** The host the images are built on (its content, snapshots, leases, images and tasks). */
  worker: BuildWorker;
  /**
   * The builder's directory inside the host's data root (`<data-root>/builder`): `cache.db`, the
   * RUN cache mounts (`cache-mounts/`) and one scratch directory per build (`builds/`), which is
   * also where the build mounts snapshots (its lease's mount root).
   */
  workDir: string;
  /** Registries spoken to over plain HTTP besides loopback ones, for the registry cache. */
  insecureRegistries?: readonly string[];
  /**
   * The platform's registry and its credentials, used for a registry cache there (`--cache-to
   * type=registry,ref=127.0.0.1:<port>/…`) when the request brings none, as the agent does for pushes.
   */
  platformRegistry?: PlatformRegistry;
  /** How long a build's lease lives without renewal (default 60 s): how soon a dead build is cleaned up. */
  leaseTtlMs?: number;
  /** Appends each build's per-phase timings there as a JSON line (`BERTH_BUILD_TRACE`; phase-trace.ts). */
  traceFile?: string;
}

const DEFAULT_LEASE_TTL_MS = 60_000;

/**
 * Builds Dockerfiles into images of a host, as `docker build` does with BuildKit:
 *
 *   context tar ─▶ <workDir>/builds/build-<rand>/context (.dockerignore applied)
 *   Dockerfile ─▶ instructions (libs/dockerfile) ─▶ graph (stages as subgraphs, only those the
 *   target needs) ─▶ solver (stages side by side, steps in order, each a cache hit or run on the
 *   host through the worker) ─▶ exporters (image, --output, --push, --cache-to)
 *
 * Everything the build makes on the host is held by a lease, renewed while it works: when the build
 * ends (or dies) the lease goes, and with it every snapshot, task and blob not committed or
 * registered. Progress goes to `onProgress` as BuildKit plain lines. Errors name the Dockerfile
 * line: `Dockerfile:5: RUN false: process "/bin/sh -c false" did not complete successfully: exit code: 1`.
 */
export class Builder {
  readonly cache: BuildCache;
  readonly #options: BuilderOptions;
  readonly #contexts: ContextStore;

  constructor(options: BuilderOptions) {
    this.#options = options;
    this.cache = new BuildCache(join(options.workDir, 'cache.db'), options.worker);
    this.#contexts = new ContextStore(join(options.workDir, 'contexts'));
  }

  async build(request: BuildRequest, callbacks: BuildCallbacks = {}): Promise<BuildResult> {
    // Options that cannot work are refused before anything runs.
    if (request.push && !request.tags?.length) throw new InvalidArgumentError('Cannot push: the build has no tag (add -t name:tag)');
    if (request.output && !callbacks.onOutput) throw new InvalidArgumentError(`Cannot export type=${request.output}: nothing receives the output`);
    const cacheTo = (request.cacheTo ?? []).map((s) => parseCacheSpec(s, '--cache-to'));
    const cacheFrom = (request.cacheFrom ?? []).map((s) => parseCacheSpec(s, '--cache-from'));
    const network = buildNetwork(request.network);
    checkPlatform(request.platform);
    const extraHosts = (request.extraHosts ?? []).map((entry) => parseExtraHost(entry, '127.0.0.1'));
    callbacks.signal?.throwIfAborted();

    const { workDir } = this.#options;
    const trace = new PhaseTrace(Boolean(this.#options.traceFile));
    const worker = tracedWorker(this.#options.worker, trace);
    const progress = new ProgressWriter(callbacks.onProgress ?? (() => undefined));
    // What the first tag names now, asked for while the lease is taken and the context syncs (exportImage).
    const tag = request.tags?.[0];
    const tagged = tag ? worker.images.get(tag).then((i) => i.id, () => undefined) : undefined; // no such image (or a name that is not one): undefined
    await mkdir(join(workDir, 'builds'), { recursive: true });
    const dir = await mkdtemp(join(workDir, 'builds', 'build-'));
    let lease;
    try {
      lease = await takeBuildLease(worker.leases, { ttlMs: this.#options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS, mountRoot: dir });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    // The build stops when the client cancels, when its lease is lost, or when one stage fails
    // (the stages running beside it are stopped before the build's files go).
    const stop = new AbortController();
    const signals = [stop.signal, lease.lost, ...(callbacks.signal ? [callbacks.signal] : [])];
    const signal = AbortSignal.any(signals);
    let client: RegistryClient | undefined;
    let solver: Solver | undefined;
    let synced: SyncedContext | undefined;
    let run: BuildRun | undefined;
    let result: BuildResult | undefined;
    try {
      let contextDir = join(dir, 'context');
      const file = request.dockerfileContent !== undefined ? (request.dockerfileName ?? 'Dockerfile') : (request.dockerfile ?? 'Dockerfile');

      const loadDef = progress.vertex(`[internal] load build definition from ${posix.basename(file)}`);
      let received = 0;
      if (request.contextSync) {
        synced = await trace.time('context.sync', () => this.#contexts.sync(request.contextSync!, { trace }));
        contextDir = synced.dir;
        received = synced.received;
      } else {
        await mkdir(contextDir);
        if (request.context) received = await receiveContext(contextDir, request.context);
      }
      const text = request.dockerfileContent ?? (await readDockerfile(contextDir, file));
      loadDef.status(`transferring dockerfile: ${Buffer.byteLength(text)}B done`);
      loadDef.done();

      const ignoreVertex = progress.vertex('[internal] load .dockerignore');
      const ignore = await readIgnoreFile(contextDir, request.dockerfileContent === undefined ? file : undefined);
      if (ignore) {
        const removed = await trace.time('context.dockerignore', () => applyIgnore(contextDir, ignore.patterns));
        synced?.forget(removed);
      }
      ignoreVertex.status(`transferring context: ${ignore ? `${ignore.path} applied` : 'no .dockerignore'} done`);
      ignoreVertex.done();

      const dockerfile = parseDockerfile(text, { file });
      const args = new BuildArgs(request.buildArgs ?? {}, { automatic: automaticPlatformArgs(currentPlatform()), escape: dockerfile.directives.escape });
      const fromEnv = args.resolveMeta(dockerfile.metaArgs);
      const graph = buildGraph(dockerfile, { file, ...(request.target ? { target: request.target } : {}), fromEnv });
      run = {
        worker,
        lease: lease.id,
        dir,
        contextDir,
        ...(synced ? { contextReader: indexReader(synced.dir, synced.index, synced.checksums) } : {}),
        cacheMountsDir: join(workDir, 'cache-mounts'),
        file,
        graph,
        args,
        fromEnv,
        progress,
        request,
        noCacheFilter: new Set((request.noCacheFilter ?? []).map((s) => s.toLowerCase())),
        cache: this.cache,
        hits: this.cache.hitChecks(),
        remote: [],
        records: new Map(),
        registryClient: () =>
          (client ??= new RegistryClient({
            credentials: async (domain) => credentialsFor(domain, request.registryAuth?.[domain], this.#options.platformRegistry),
            insecureRegistries: [...(this.#options.insecureRegistries ?? [])],
            // `FROM berth.localhost/…` and `--cache-to type=registry,ref=berth.localhost/…` name the platform registry.
            ...platformRegistryTransport(this.#options.platformRegistry),
          })),
        signal,
        held: new Set(),
        chains: new Set(),
        pending: [],
        executed: 0,
        cached: 0,
        namedContexts: new Map(),
        secrets: new Map(Object.entries(request.secrets ?? {}).map(([id, value]) => [id, Buffer.from(value)])),
        network,
        extraHosts: extraHosts.map(([host, ip]) => `${ip}\t${host}`),
        trace,
      };
      for (const named of request.namedContexts ?? []) {
        if (named.image !== undefined) {
          run.namedContexts.set(named.name, { kind: 'image', ref: named.image });
          continue;
        }
        const vertex = progress.vertex(`[context ${named.name}] load from client`);
        const namedDir = join(dir, 'named-contexts', String(run.namedContexts.size));
        await mkdir(namedDir, { recursive: true });
        const bytes = named.context ? await receiveContext(namedDir, named.context) : 0;
        vertex.status(`transferring ${named.name}: ${bytes}B done`);
        vertex.done();
        run.namedContexts.set(named.name, { kind: 'dir', dir: namedDir });
      }
      if (extraHosts.length > 0) {
        run.hostsFile = join(dir, 'hosts');
        await writeFile(run.hostsFile, hostModeHostsFile(await readFile('/etc/hosts', 'utf8').catch(() => ''), extraHosts), { mode: 0o644 });
      }
      const ctxVertex = progress.vertex('[internal] load build context');
      ctxVertex.status(synced ? `transferring context: ${synced.sent} changed files, ${received}B done` : `transferring context: ${received}B done`);
      ctxVertex.done();
      for (const ref of cacheFrom) await importCache(run, ref);

      let state: StageState | undefined;
      for (let attempt = 1; !state; attempt++) {
        solver = new Solver(run);
        try {
          state = await trace.time('solve', () => solver!.stage(graph.target));
          await trace.time('flush-layers', () => flushLayers(run!));
          if (request.squash) await squash(run, state);
          await run.hits.confirm();
        } catch (err) {
          // A cached layer whose blob is gone: solved once more without its records (those steps run).
          if (attempt > 1 || !(err instanceof BerthError) || err.code !== STALE_CACHE) throw err;
          state = undefined;
          await solver.settle();
          await Promise.allSettled(run.pending.splice(0));
          Object.assign(run, { hits: this.cache.hitChecks(), executed: 0, cached: 0 });
          run.records.clear();
          progress.vertex(`[internal] ${err.message}`).done();
        }
      }
      const exporting = progress.vertex('exporting to image');
      const image = await trace.time('export-image', () => exportImage(run!, state, request, tagged));
      exporting.status('exporting layers done');
      exporting.status(`writing image ${image.id} done`);
      const tags = image.names.filter((n) => !n.includes('@'));
      for (const tag of tags) exporting.status(`naming to ${tag} done`);
      exporting.done();
      if (request.output) await exportOutput(run, { state, image }, request.output, callbacks.onOutput!);
      if (request.push) for (const tag of tags) await pushTag(run, tag);
      for (const ref of cacheTo) await exportCacheTo(run, ref);

      const warnings = [...dockerfile.warnings];
      const unused = args.unusedWarning();
      if (unused) warnings.push(unused);
      result = { imageId: image.id, warnings, executed: run.executed, cached: run.cached };
      return result;
    } catch (err) {
      stop.abort(err);
      // A lost lease explains a failure better than the step that noticed it.
      throw lease.lost.aborted ? lease.lost.reason : err;
    } finally {
      await solver?.settle();
      if (run) await Promise.allSettled(run.pending);
      await synced?.release();
      client?.close();
      // The image exists and the context is free: the caller may answer before the lease's end.
      if (result) callbacks.onResult?.(result);
      // Ending the lease removes what was not committed or registered, and the build's directory.
      await lease.end().catch(() => undefined); // an expired lease was collected already
      await rm(dir, { recursive: true, force: true });
      await trace.write(this.#options.traceFile, { tags: request.tags ?? [], noCache: Boolean(request.noCache) }).catch(() => undefined); // a trace that cannot be written changes no build
    }
  }

  /** `berth builder prune`: the cache records (and their blobs), and the contexts kept for file sync. */
  async prune(options: { olderThan?: Date } = {}): Promise<{ records: number; reclaimed: number }> {
    const result = await this.cache.prune(options);
    if (!options.olderThan) await this.#contexts.prune();
    return result;
  }

  close(): void {
    this.cache.close();
  }
}

/** `--network`: BuildKit's modes; Berth's RUN steps use the host's network by default, as BuildKit's do. */
function buildNetwork(mode: string | undefined): 'host' | 'none' {
  if (!mode || mode === 'default' || mode === 'host') return 'host';
  if (mode === 'none') return 'none';
  throw new InvalidArgumentError(`network mode "${mode}" not supported by buildkit: expected default, host or none`);
}

/** `--platform`: the builder runs steps natively, with no emulation, so only the host's platform is built. */
function checkPlatform(text: string | undefined): void {
  if (!text) return;
  const host = currentPlatform();
  const platforms = text.split(',').map((p) => p.trim());
  if (platforms.length > 1) {
    throw new InvalidArgumentError(`Cannot build for several platforms ("${text}"): this builder builds for ${formatPlatform(host)} only`);
  }
  if (!matchPlatform(host)(parsePlatform(platforms[0]!))) {
    throw new InvalidArgumentError(`Cannot build for platform "${platforms[0]}": this builder builds for ${formatPlatform(host)} only (no emulation)`);
  }
}
