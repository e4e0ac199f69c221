import type { ContainerContext } from './container-context.js';
import { matchesFilters } from './container-filters.js';
import type { ContainerSnapshotter, ImageSource } from './dependencies.js';
import { toInspect, toSummary, withNetworkInspect, withNetworkSummary, type ContainerInspect } from './inspect.js';
import { usesVolume } from './mounts.js';
import type { ContainerNetworking } from './networking.js';
import type { ContainerRecord, ContainerSummary, ListOptions } from './types.js';

/** What the queries read besides the records. */
export interface QueryDeps {
  images: Pick<ImageSource, 'resolve'>;
  snapshotter: Pick<ContainerSnapshotter, 'upperDir' | 'lowerDirs'>;
  network?: Pick<ContainerNetworking, 'inspect' | 'summary'>;
}

/** Read-only views of the containers: `ps`, `inspect`, and who uses an image or a volume. */
export class ContainerQueries {
  constructor(
    private readonly ctx: ContainerContext,
    private readonly deps: QueryDeps,
  ) {}

  /** `docker ps`: newest first; see ListOptions for the filters. */
  async list(options: ListOptions = {}): Promise<ContainerSummary[]> {
    const filters = options.filters ?? {};
    let records = this.ctx.store.all();
    if (!options.all && !options.latest && options.limit === undefined && !filters.status) {
      records = records.filter((r) => r.State.Running);
    }
    const ancestors = new Set<string>();
    for (const ref of filters.ancestor ?? []) {
      const image = await this.deps.images.resolve(ref).catch(() => undefined);
      if (image !== undefined) ancestors.add(image.id);
    }
    records = records.filter((r) => matchesFilters(r, filters, ancestors));
    if (options.latest) records = records.slice(0, 1);
    else if (options.limit !== undefined && options.limit > 0) records = records.slice(0, options.limit);
    const now = Date.now();
    return records.map((r) => withNetworkSummary(toSummary(r, now), this.deps.network?.summary(r.Id)));
  }

  /** Docker's ContainerInspectResponse. NotFoundError `No such container: x`. */
  async inspect(idOrName: string): Promise<ContainerInspect> {
    const rec = this.get(idOrName);
    const { snapshotter } = this.deps;
    let graph: { upperDir: string; lowerDirs: string[]; mergedDir: string } | undefined;
    try {
      graph = {
        upperDir: snapshotter.upperDir(rec.SnapshotKey),
        lowerDirs: await snapshotter.lowerDirs(rec.SnapshotKey),
        mergedDir: this.ctx.layout.rootfs(rec.Id),
      };
    } catch {
      // The snapshot is gone (e.g. removed by hand): inspect shows no GraphDriver data, as Docker would.
      graph = undefined;
    }
    return withNetworkInspect(toInspect(rec, { graph }), this.deps.network?.inspect(rec.Id));
  }

  /** The raw record (for the agent and tests). NotFoundError `No such container: x`. */
  get(idOrName: string): ContainerRecord {
    return this.ctx.mustGet(this.ctx.resolve(idOrName));
  }

  /** Ids of containers (any state) that mount a volume: the volume store's `usedBy`. */
  volumeUsers(name: string): string[] {
    return this.ctx.store.all().filter((rec) => usesVolume(rec.MountPoints, name)).map((rec) => rec.Id);
  }

  /** Ids of containers (any state) created from an image: the image store's `usedBy`. */
  usedBy(imageId: string): string[] {
    return this.ctx.store.idsUsingImage(imageId);
  }
}
