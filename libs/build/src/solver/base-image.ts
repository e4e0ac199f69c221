import { BerthError, NotFoundError } from '@berth/errors';
import { currentPlatform, type Descriptor, type ImageConfig, type ImageManifest, parseReference, type Reference } from '@berth/oci';
import { NO_REGISTRY_ACCESS, type TransferEvent, type WorkerImage } from '@berth/worker';
import { baseKey, cacheKey } from '../cache/cache-key.js';
import { checksumEntries } from '../context/copy-files.js';
import type { StageBase } from '../frontend/build-graph.js';
import { authFor, type BuildRun } from './build-run.js';
import { directoryLayer } from './snapshots.js';
import { EPOCH, HISTORY_COMMENT, type StageState } from './stage-state.js';
import { followTransfer } from './transfer-progress.js';
import { valueExcerpt } from '../located.js';

/** An image of the host's store, parsed. */
export interface ResolvedImage {
  /** The reference it was resolved from, when not the name written (a `--build-context name=docker-image://ref`). */
  ref?: string;
  id: string;
  names: string[];
  created: string;
  manifest: ImageManifest;
  config: ImageConfig;
}

/** What a stage starts from. `root`: the layers and history of the image at the root of the FROM chain (what --squash keeps). */
export interface BaseState {
  config: ImageConfig;
  layers: Descriptor[];
  key: string;
  layerSizes: Map<string, number>;
  title: string;
  id: string;
  root?: { layers: number; history: number };
}

/**
 * The base of a stage: a copy of another stage's result, an empty `scratch`, or an image of the
 * store (pulled first when missing, or always with `--pull`). Docker's build-only config fields
 * (container, docker_version, …) are not inherited; a base without history gets one entry per layer.
 */
export async function resolveBase(
  base: StageBase,
  sources: { stage: (index: number) => Promise<StageState>; image: (name: string) => Promise<ResolvedImage> },
): Promise<BaseState> {
  if (base.kind === 'stage') {
    const s = await sources.stage(base.index);
    return {
      config: structuredClone(s.config),
      layers: [...s.layers],
      key: s.key,
      layerSizes: new Map(s.layerSizes),
      title: base.name,
      id: s.baseId,
      root: { layers: s.baseLayers, history: s.baseHistory },
    };
  }
  if (base.kind === 'scratch') {
    const platform = currentPlatform();
    return {
      config: { architecture: platform.architecture, os: platform.os, config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] },
      layers: [],
      key: baseKey('scratch'),
      layerSizes: new Map(),
      title: 'scratch',
      id: 'scratch',
    };
  }
  const image = await sources.image(base.name);
  const { container: _c, container_config: _cc, docker_version: _d, comment: _m, ...inherited } = image.config;
  return {
    config: {
      ...structuredClone(inherited),
      config: structuredClone(image.config.config ?? {}),
      history: image.config.history?.length ? structuredClone(image.config.history) : image.config.rootfs.diff_ids.map(() => ({ created: image.created })),
    },
    layers: [...image.manifest.layers],
    key: baseKey(image),
    layerSizes: new Map(),
    title: writtenName(image.ref ?? base.name, image.id),
    id: image.id,
  };
}

/**
 * `FROM name` where `--build-context name=DIR`: the directory's files as the one layer of an
 * otherwise empty image (BuildKit makes the directory the stage's root filesystem). Its key is a
 * checksum of the files, so the steps after it are cached while they do not change.
 */
export async function contextBase(run: BuildRun, name: string, dir: string): Promise<BaseState> {
  const platform = currentPlatform();
  const checksum = await checksumEntries([{ path: dir, name: '.', isDirectory: true }], { withOwner: false });
  const layer = await directoryLayer(run, dir);
  return {
    config: {
      architecture: platform.architecture,
      os: platform.os,
      config: {},
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created: EPOCH, created_by: `context ${name}`, comment: HISTORY_COMMENT }],
    },
    layers: [layer.descriptor],
    key: cacheKey('', 'FROM-CONTEXT', checksum),
    layerSizes: new Map([[layer.diffId, layer.size]]),
    title: name,
    id: `context:${name}`,
  };
}

/**
 * A base image's name as the progress shows it: the name written (after ARG expansion), completed
 * as BuildKit does (`busybox` → `docker.io/library/busybox:latest`), never another tag of the same
 * image; an image id stays as written.
 */
export function writtenName(name: string, id: string): string {
  const hex = /^(?:sha256:)?([a-f0-9]{12,64})$/.exec(name)?.[1];
  if (hex && id.startsWith(`sha256:${hex}`)) return name;
  try {
    return parseReference(name, { defaultTag: true }).toString();
  } catch {
    return name; // an image id
  }
}

/**
 * The image `name` names, from the host's store, or pulled through the host when it is missing
 * there (or always, with `pull`). A name that is not a reference (an image id) is looked up only.
 */
export async function resolveOrPull(run: BuildRun, name: string): Promise<ResolvedImage> {
  const images = run.worker.images;
  let ref: Reference | undefined;
  try {
    ref = parseReference(name, { defaultTag: true });
  } catch {
    ref = undefined; // an image id: only the store can have it
  }
  let missing: unknown;
  if (!run.request.pull || !ref) {
    try {
      return parseImage(await images.get(name));
    } catch (err) {
      if (!(err instanceof NotFoundError) || !ref) throw err;
      missing = err;
    }
  }
  let events: AsyncIterable<TransferEvent>;
  try {
    events = images.pull(ref.toString(), authFor(run, ref.domain));
  } catch (err) {
    // A host without registry access: the image is simply not there.
    if (missing && err instanceof BerthError && err.code === NO_REGISTRY_ACCESS) {
      throw new NotFoundError(`base image "${valueExcerpt(name)}" is not in this host's image store (pull or bootstrap it first)`, { cause: missing });
    }
    throw err;
  }
  const vertex = run.progress.vertex(`[internal] load metadata for ${ref.toString()}`);
  await followTransfer(vertex, events);
  return parseImage(await images.get(ref.toString()));
}

export function parseImage(image: WorkerImage): ResolvedImage {
  return {
    id: image.id,
    names: image.names,
    created: image.created,
    manifest: JSON.parse(image.manifest.toString('utf8')) as ImageManifest,
    config: JSON.parse(image.config.toString('utf8')) as ImageConfig,
  };
}
