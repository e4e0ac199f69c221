/**
 * The host of each container this gateway created lately, by full id: `run` calls start (or
 * attach) on the container it has just created, and finding its host by asking every host (an
 * Inspect each, cluster-router.ts `locate`) cost a gateway → agent round trip per call
 * (bench/README.md, "The run path"). An id is 256 random bits and a container never changes host
 * (a move creates another container), so a remembered host stays right for as long as the
 * container exists; once it is removed, that host answers "No such container" as any would.
 * The oldest entries go past `limit`.
 */
export class RecentPlacements {
  private readonly hosts = new Map<string, string>();

  constructor(private readonly limit = 1024) {}

  remember(containerId: string, hostId: string): void {
    this.hosts.delete(containerId);
    this.hosts.set(containerId, hostId);
    if (this.hosts.size > this.limit) this.hosts.delete(this.hosts.keys().next().value!);
  }

  /** The host that container `ref` was created on, when `ref` is a full id this gateway placed. */
  hostOf(ref: string): string | undefined {
    return this.hosts.get(ref);
  }

  forget(containerId: string): void {
    this.hosts.delete(containerId);
  }
}
