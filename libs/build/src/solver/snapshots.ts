import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '@berth/errors';
import { type IngestedLayer, ingestLayer } from '@berth/images';
import { applyLayer, packDirectory } from '@berth/layers';
import { chainIds, type Descriptor } from '@berth/oci';
import { mountAll, unmount } from '@berth/snapshots';
import { type LeaseResource, snapshotDirs } from '@berth/worker';
import type { BuildRun } from './build-run.js';

/**
 * Makes sure a committed snapshot exists for every layer chain (applying missing layers read from
 * the content store, as the image store's unpack does) and returns the top chain ID. The layers
 * are applied here, in the builder, onto the snapshot's upper dir: the agent only stores.
 *
 * Each chain and layer blob is held by the build's lease first (once per build), so that an `rmi`
 * of the base image, or of an image with the same layers, does not remove them under the build.
 */
export async function ensureChain(run: BuildRun, diffIds: string[], layers: Descriptor[]): Promise<string | undefined> {
  const { snapshots, content } = run.worker;
  await run.hits.confirm(); // a cached layer whose blob is gone is not stacked on
  const chains = chainIds(diffIds);
  for (const [i, chain] of chains.entries()) {
    await holdOnce(run, { type: 'snapshot', id: chain });
    // A layer this build makes has no digest until it is compressed; it is held from its ingest.
    const digest = layers[i]?.digest;
    if (digest) await holdOnce(run, { type: 'blob', id: digest });
    // Held by the lease from here on, a chain seen once stays for the whole build: asked for once.
    if (run.chains.has(chain)) continue;
    if (await exists(run, chain)) {
      run.chains.add(chain);
      continue;
    }
    const key = `extract-${randomBytes(8).toString('hex')}`;
    const mounts = await snapshots.prepare(key, { ...(i > 0 ? { parent: chains[i - 1] } : {}), lease: run.lease });
    try {
      const { upper, lowers } = snapshotDirs(mounts);
      const { diffId } = await applyLayer(upper, content.createReadStream(layers[i]!.digest), { whiteouts: 'overlay', lowers });
      if (diffId !== diffIds[i]) throw new FailedPreconditionError(`Layer ${i} has diff ID "${diffId}", expected "${diffIds[i]}"`);
      try {
        await snapshots.commit(chain, key);
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
        await snapshots.remove(key);
      }
      run.chains.add(chain);
    } catch (err) {
      await snapshots.remove(key).catch(() => undefined); // already committed or gone; the lease collects leftovers
      throw err;
    }
  }
  return chains.at(-1);
}

async function holdOnce(run: BuildRun, resource: LeaseResource): Promise<void> {
  const key = `${resource.type} ${resource.id}`;
  if (run.held.has(key)) return;
  await run.worker.leases.addResource(run.lease, resource);
  run.held.add(key);
}

async function exists(run: BuildRun, key: string): Promise<boolean> {
  return run.worker.snapshots.stat(key).then(
    () => true,
    (err) => (err instanceof NotFoundError ? false : Promise.reject(err)),
  );
}

/** A read-only mount of the filesystem of `layers` (COPY --from, the rootfs export); `release` unmounts it. */
export async function mountView(run: BuildRun, diffIds: string[], layers: Descriptor[]): Promise<{ path: string; release: () => Promise<void> }> {
  const parent = await ensureChain(run, diffIds, layers);
  const key = `build-view-${randomBytes(8).toString('hex')}`;
  const path = join(run.dir, key);
  await mkdir(path, { recursive: true });
  const mounts = await run.worker.snapshots.view(key, { ...(parent ? { parent } : {}), lease: run.lease });
  try {
    await mountAll(mounts, path);
  } catch (err) {
    await run.worker.snapshots.remove(key).catch(() => undefined); // the lease collects it otherwise
    throw err;
  }
  return {
    path,
    release: async () => {
      await unmount(path);
      await run.worker.snapshots.remove(key);
    },
  };
}

/**
 * The layer of an active snapshot: its upper dir packed as a tar (overlay whiteouts turned into
 * `.wh.` files), compressed here and stored in the host's content store under the build's lease.
 * `tar`: the same tar, already packed by `measureDiff` (the upper dir is not read again).
 */
export async function diffLayer(run: BuildRun, upper: string, tar?: Buffer[]): Promise<IngestedLayer> {
  const ingester = { ingest: (source: Parameters<typeof run.worker.content.ingest>[0]) => run.worker.content.ingest(source, { lease: run.lease }) };
  return ingestLayer(ingester, tar ? Readable.from(tar, { objectMode: false }) : packDirectory(upper, { upper: true }).stream);
}

/** Layers up to this size are kept in memory between `measureDiff` and `diffLayer` (packed once). */
const KEEP_TAR_BYTES = 64 * 1024 * 1024;

/**
 * The diff ID and size of an upper dir's layer tar, read once without compressing: enough to
 * commit the snapshot under its chain ID and go on, while `diffLayer` compresses in the background.
 * A layer of at most 64 MiB comes back as `tar` too, for `diffLayer` (a larger one is packed again
 * there rather than held in memory).
 */
export async function measureDiff(upper: string): Promise<{ diffId: string; size: number; tar?: Buffer[] }> {
  const packed = packDirectory(upper, { upper: true });
  let size = 0;
  let tar: Buffer[] | undefined = [];
  for await (const chunk of packed.stream) {
    size += (chunk as Buffer).length;
    if (size > KEEP_TAR_BYTES) tar = undefined;
    else tar?.push(chunk as Buffer);
  }
  return { diffId: await packed.diffId, size, ...(tar ? { tar } : {}) };
}

/** A directory of the builder (a named build context) as a layer, stored under the build's lease. */
export async function directoryLayer(run: BuildRun, dir: string): Promise<IngestedLayer> {
  const ingester = { ingest: (source: Parameters<typeof run.worker.content.ingest>[0]) => run.worker.content.ingest(source, { lease: run.lease }) };
  return ingestLayer(ingester, packDirectory(dir).stream);
}
