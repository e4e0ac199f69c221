import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AlreadyExistsError, InternalError } from '@berth/errors';
import { chainIds, type Descriptor, MediaType } from '@berth/oci';
import { mountAll, unmount } from '@berth/snapshots';
import { snapshotDirs } from '@berth/worker';
import type { CachedStep } from '../cache/build-cache.js';
import { chainKey } from '../cache/cache-key.js';
import type { Vertex } from '../progress.js';
import type { BuildRun } from '../solver/build-run.js';
import { diffLayer, ensureChain, measureDiff } from '../solver/snapshots.js';
import { addHistory, appendLayer, type StageState, type StepLayer } from '../solver/stage-state.js';

export interface LayerStep {
  /** The vertex title after `[stage i/n] `. */
  title: string;
  key: string;
  createdBy: string;
  /** WORKDIR: no layer when the step changed nothing. */
  optionalLayer?: boolean;
  /**
   * Whether the builder mounts the snapshot for `work` (COPY, WORKDIR). A RUN leaves it unmounted:
   * the agent mounts it for the task.
   */
  mount: boolean;
}

/** What a step's work gets: the active snapshot, mounted at `rootfs` when the step asked for it. */
export interface LayerWork {
  snapshot: string;
  rootfs: string;
  vertex: Vertex;
}

/**
 * The shared step of RUN, COPY, ADD and WORKDIR. On a cache hit the recorded layer is appended;
 * otherwise an active snapshot on the stage's layers is prepared (under the build's lease), `work`
 * changes it, its upper dir becomes the layer (none when `work` changed nothing and the layer is
 * optional), and it is committed under the layer's chain ID so the next step stacks on it without
 * unpacking. The snapshot is removed when it was not committed.
 */
export async function layerStep(run: BuildRun, state: StageState, step: LayerStep, work: (w: LayerWork) => Promise<void>): Promise<void> {
  const { title, key, createdBy } = step;
  state.position++;
  const vertex = run.progress.vertex(`[${state.label}${state.position}/${state.total}] ${title}`);
  if (!state.noCache) {
    const hit = await run.trace.time('step.cache-get', () => cached(run, key));
    if (hit) {
      run.records.set(key, { key, ...hit });
      run.cached++;
      state.config.config = structuredClone(hit.config);
      state.created = hit.created;
      if (hit.layer) appendLayer(state, hit.layer);
      addHistory(state, hit.createdBy, !hit.layer);
      state.key = chainKey(key, hit.layer?.diffId);
      vertex.cached();
      return;
    }
  }
  run.executed++;
  run.signal?.throwIfAborted();
  const parent = await run.trace.time('step.ensure-chain', () => ensureChain(run, state.config.rootfs.diff_ids, state.layers));
  const snapshot = `build-${randomBytes(8).toString('hex')}`;
  const rootfs = join(run.dir, snapshot, 'rootfs');
  let committed = false;
  try {
    const mounts = await run.worker.snapshots.prepare(snapshot, { ...(parent ? { parent } : {}), lease: run.lease });
    if (step.mount) {
      await mkdir(rootfs, { recursive: true });
      await run.trace.time('step.mount', () => mountAll(mounts, rootfs));
      try {
        await run.trace.time(`step.work.${title.split(' ')[0]}`, () => work({ snapshot, rootfs, vertex }));
      } finally {
        await run.trace.time('step.unmount', () => unmount(rootfs));
      }
    } else {
      await run.trace.time(`step.work.${title.split(' ')[0]}`, () => work({ snapshot, rootfs, vertex }));
    }
    const { upper } = snapshotDirs(mounts);
    let layer: StepLayer | undefined;
    let compressed: Promise<void> | undefined;
    if (!step.optionalLayer || (await readdir(upper)).length > 0) {
      // The diff ID is all the next step needs (the chain ID of this snapshot); the layer is
      // compressed and stored meanwhile, and its descriptor filled in when that is done.
      const measured = await run.trace.time('step.measure-diff', () => measureDiff(upper));
      const chain = chainIds([...state.config.rootfs.diff_ids, measured.diffId]).at(-1)!;
      try {
        await run.trace.time('step.commit', () => run.worker.snapshots.commit(chain, snapshot));
        committed = true;
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
      const descriptor: Descriptor = { mediaType: MediaType.OciLayerGzip, digest: '', size: 0 };
      layer = { descriptor, diffId: measured.diffId, size: measured.size };
      compressed = run.trace.time('layer.compress-and-ingest', () => diffLayer(run, upper, measured.tar)).then((ingested) => {
        if (ingested.diffId !== measured.diffId) throw new InternalError(`The layer of "${title}" changed while it was being stored`);
        Object.assign(descriptor, ingested.descriptor);
      });
      appendLayer(state, layer);
    }
    state.created = new Date().toISOString();
    addHistory(state, createdBy, !layer);
    const record: CachedStep = { ...(layer ? { layer } : {}), config: structuredClone(state.config.config ?? {}), createdBy, created: state.created };
    run.records.set(key, { key, ...record });
    state.key = chainKey(key, layer?.diffId);
    if (compressed) {
      // The snapshot stays until its layer is read; an uncommitted one goes after that.
      const keep = committed;
      committed = true;
      const done = compressed
        .then(() => run.trace.time('step.cache-put', () => run.cache.put(key, record)))
        .finally(() => (keep ? undefined : run.worker.snapshots.remove(snapshot).catch(() => undefined))); // the lease collects it otherwise
      done.catch(() => undefined); // awaited by flushLayers; this only marks it handled meanwhile
      run.pending.push(done);
    } else {
      await run.trace.time('step.cache-put', () => run.cache.put(key, record));
    }
    vertex.done();
  } catch (err) {
    vertex.error(err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    // Not committed: removed now (the build's lease would remove it when it ends anyway).
    if (!committed) await run.worker.snapshots.remove(snapshot).catch(() => undefined);
  }
}

/** A step's record: this host's cache first, then the imported ones (fetching the layer blob). */
async function cached(run: BuildRun, key: string): Promise<CachedStep | undefined> {
  const local = run.cache.get(key, run.hits);
  if (local) return local;
  for (const remote of run.remote) {
    const record = remote.get(key);
    if (!record) continue;
    await remote.fetchLayer(run.worker.content, record, { lease: run.lease });
    const { key: _key, ...step } = record;
    await run.cache.put(key, step);
    return step;
  }
  return undefined;
}
