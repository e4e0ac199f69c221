import { UnavailableError } from '@berth/errors';
import { MOUNT_ROOT_LABEL, type WorkerLeases } from '@berth/worker';

/** A build's lease, renewed every third of its TTL while the build works. */
export interface BuildLease {
  id: string;
  /** Aborted when a renewal fails (the lease expired: what the build made is being removed). */
  lost: AbortSignal;
  /** Stops renewing and deletes the lease: what was not committed or registered is removed. */
  end(): Promise<void>;
}

/**
 * Takes a lease for a build whose mounts are under `mountRoot`. If this process dies, the lease
 * expires after `ttlMs` and the host removes the build's snapshots, task containers, unregistered
 * blobs and leftover mounts.
 */
export async function takeBuildLease(leases: WorkerLeases, options: { ttlMs: number; mountRoot: string }): Promise<BuildLease> {
  const lease = await leases.create({ ttlMs: options.ttlMs, labels: { [MOUNT_ROOT_LABEL]: options.mountRoot } });
  const lost = new AbortController();
  let renewing: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    renewing ??= leases
      .renew(lease.id, options.ttlMs)
      .catch((err) => lost.abort(new UnavailableError(`The build's lease "${lease.id}" was lost: ${(err as Error).message}`, { cause: err })))
      .finally(() => (renewing = undefined));
  }, Math.max(100, Math.floor(options.ttlMs / 3)));
  timer.unref();
  return {
    id: lease.id,
    lost: lost.signal,
    async end() {
      clearInterval(timer);
      await renewing;
      await leases.delete(lease.id);
    },
  };
}
