import { createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AlreadyExistsError } from '@berth/errors';
import { applyLayer } from '@berth/layers';
import { chainIds } from '@berth/oci';
import { mountAll, unmount } from '@berth/snapshots';
import { snapshotDirs } from '@berth/worker';
import { cacheKey } from '../cache/cache-key.js';
import type { BuildRun } from './build-run.js';
import { diffLayer, ensureChain } from './snapshots.js';
import { appendLayer, type StageState, type StepLayer } from './stage-state.js';

/**
 * `--squash`: the layers this build made become one, on top of the base's layers. The history
 * keeps every step, marked `empty_layer`, and gains a `merge` entry for the new layer. The
 * squashed layer is cached under the stage's last key (a rebuild gives the same image).
 */
export async function squash(run: BuildRun, state: StageState): Promise<void> {
  const count = state.layers.length - state.baseLayers;
  if (count <= 0) return;
  const vertex = run.progress.vertex(`squashing ${count} layer${count === 1 ? '' : 's'}`);
  const diffIds = state.config.rootfs.diff_ids;
  const unsquashed = `sha256:${createHash('sha256').update(JSON.stringify(state.config)).digest('hex')}`;
  const key = cacheKey(state.key, 'SQUASH', String(state.baseLayers));
  const finish = (layer: StepLayer) => {
    state.layers = state.layers.slice(0, state.baseLayers);
    state.config.rootfs = { type: 'layers', diff_ids: diffIds.slice(0, state.baseLayers) };
    appendLayer(state, layer);
    const history = state.config.history ?? [];
    for (const entry of history.slice(state.baseHistory)) entry.empty_layer = true;
    history.push({ created: state.created, comment: `merge ${unsquashed} to ${state.baseId}` });
    state.config.history = history;
  };
  const hit = state.noCache ? undefined : run.cache.get(key, run.hits);
  if (hit?.layer) {
    finish(hit.layer);
    vertex.cached();
    return;
  }
  const layers = state.layers.slice(state.baseLayers);
  const parent = await ensureChain(run, diffIds.slice(0, state.baseLayers), state.layers.slice(0, state.baseLayers));
  const snapshot = `build-squash-${randomBytes(8).toString('hex')}`;
  const rootfs = join(run.dir, snapshot);
  await mkdir(rootfs, { recursive: true });
  let committed = false;
  try {
    const mounts = await run.worker.snapshots.prepare(snapshot, { ...(parent ? { parent } : {}), lease: run.lease });
    // Applying each layer onto the mounted overlay turns its deletions into whiteouts of the
    // upper dir, which then holds exactly the squashed change.
    await mountAll(mounts, rootfs);
    try {
      for (const layer of layers) await applyLayer(rootfs, run.worker.content.createReadStream(layer.digest), { whiteouts: 'remove' });
    } finally {
      await unmount(rootfs);
    }
    const layer = await diffLayer(run, snapshotDirs(mounts).upper);
    const chain = chainIds([...diffIds.slice(0, state.baseLayers), layer.diffId]).at(-1)!;
    try {
      await run.worker.snapshots.commit(chain, snapshot);
      committed = true;
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
    await run.cache.put(key, { layer, config: structuredClone(state.config.config ?? {}), createdBy: 'squash', created: state.created });
    finish(layer);
  } catch (err) {
    vertex.error(err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    if (!committed) await run.worker.snapshots.remove(snapshot).catch(() => undefined); // the lease collects it otherwise
  }
  vertex.done();
}
