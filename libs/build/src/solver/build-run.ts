import type { BuildArgs } from '@berth/dockerfile';
import type { RegistryClient } from '@berth/registry-client';
import type { BuildWorker, Credentials } from '@berth/worker';
import type { BuildRequest } from '../build-request.js';
import type { BuildCache, HitChecks } from '../cache/build-cache.js';
import type { CacheRecord, RemoteCache } from '../cache/registry-cache.js';
import type { TreeReader } from '../context/copy-files.js';
import type { BuildGraph } from '../frontend/build-graph.js';
import type { PhaseTrace } from '../phase-trace.js';
import type { ProgressWriter } from '../progress.js';

/** Everything one build shares: its worker and lease, its files, its graph and its counters. */
export interface BuildRun {
  worker: BuildWorker;
  /** The lease that holds every snapshot, blob and task of the build. */
  lease: string;
  /** The build's scratch directory (context, mount points, downloads): the lease's mount root. */
  dir: string;
  contextDir: string;
  /** Answers for a synced context from its index (a COPY of it reads no file to checksum it). */
  contextReader?: TreeReader;
  /** Where RUN cache mounts persist across builds. */
  cacheMountsDir: string;
  /** The Dockerfile's name in messages. */
  file: string;
  graph: BuildGraph;
  args: BuildArgs;
  /** The environment of FROM lines: automatic platform ARGs and meta ARGs. */
  fromEnv: Map<string, string>;
  progress: ProgressWriter;
  request: BuildRequest;
  noCacheFilter: Set<string>;
  cache: BuildCache;
  /** The layer blobs of this build's cache hits, checked in the background (confirmed before a chain is read and before the export). */
  hits: HitChecks;
  /** Caches imported with `--cache-from`. */
  remote: RemoteCache[];
  /** Every layer step's record (hit or not), for `--cache-to`. */
  records: Map<string, CacheRecord>;
  registryClient: () => RegistryClient;
  signal?: AbortSignal;
  /** The snapshots and blobs of others (base images, earlier builds) the lease was asked to hold. */
  held: Set<string>;
  /** Chain IDs whose committed snapshot exists and is held by the lease (ensureChain asks no more). */
  chains: Set<string>;
  /** Layers being compressed and stored while the build goes on; awaited before the export. */
  pending: Array<Promise<void>>;
  executed: number;
  cached: number;
  /** `--build-context` names: a directory received from the client, or an image reference. */
  namedContexts: Map<string, NamedContext>;
  /** `--secret` values by id, for `RUN --mount=type=secret`. */
  secrets: Map<string, Buffer>;
  /** The network of RUN steps (`--network`): the host's, or none. */
  network: 'host' | 'none';
  /** `--add-host` entries (`ip\thost`), and the /etc/hosts file made of them for RUN steps. */
  extraHosts: string[];
  hostsFile?: string;
  /** Per-phase timings (a no-op unless the builder traces). */
  trace: PhaseTrace;
}

/** A named build context: `--build-context name=DIR` or `name=docker-image://ref`. */
export type NamedContext = { kind: 'dir'; dir: string } | { kind: 'image'; ref: string };

/** Credentials for the registry of a reference's domain, if the request has some. */
export function authFor(run: BuildRun, domain: string): Credentials | undefined {
  return run.request.registryAuth?.[domain];
}

/** Waits for the layers still being compressed (their descriptors are complete afterwards). */
export async function flushLayers(run: BuildRun): Promise<void> {
  while (run.pending.length > 0) await Promise.all(run.pending.splice(0));
}
