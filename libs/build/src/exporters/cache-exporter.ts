import type { Reference } from '@berth/oci';
import { exportCache, RemoteCache } from '../cache/registry-cache.js';
import type { BuildRun } from '../solver/build-run.js';

/**
 * `--cache-from`: reads the records of the cache at `ref`. A cache that cannot be read is a
 * warning, not an error (as with BuildKit): the build goes on without it.
 */
export async function importCache(run: BuildRun, ref: Reference): Promise<void> {
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
export async function exportCacheTo(run: BuildRun, ref: Reference): Promise<void> {
  const vertex = run.progress.vertex(`exporting cache to registry ${ref.toString()}`);
  try {
    const digest = await exportCache(run.registryClient(), run.worker.content, ref, [...run.records.values()], { lease: run.lease });
    vertex.status(`writing cache manifest ${digest} done`);
  } catch (err) {
    vertex.error(err instanceof Error ? err.message : String(err));
    throw err;
  }
  vertex.done();
}
