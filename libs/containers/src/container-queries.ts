import type { ContainerContext } from './container-context.js';
import { directorySize } from '@berth/snapshots';
import { psFilter, type ContainerLinks } from './container-filters.js';
import type { ContainerSnapshotter, ImageSource } from './dependencies.js';
import { toInspect, toSummary, withNetworkInspect, withNetworkSummary, type ContainerInspect } from './inspect.js';
import { usesVolume } from './mounts.js';
import { statusOf } from './state.js';
import type { ContainerNetworking } from './networking.js';
import type { ContainerRecord, ContainerSummary, ListOptions } from './types.js';

/** What the queries read besides the records. */
export interface QueryDeps {
  images: Pick<ImageSource, 'resolve' | 'children' | 'idOf'>;
  snapshotter: Pick<ContainerSnapshotter, 'upperDir' | 'lowerDirs'>;
  network?: Pick<ContainerNetworking, 'inspect' | 'summary' | 'summaries'>;
}

/** Docker's `SizeRw` (the container's own files) and `SizeRootFs` (its whole root filesystem). */
export interface ContainerSize {
  SizeRw: number;
  SizeRootFs: number;
}

/** Read-only views of the containers: `ps`, `inspect`, and who uses an image or a volume. */
export class ContainerQueries {
  constructor(
    private readonly ctx: ContainerContext,
    private readonly deps: QueryDeps,
  ) {}

  /**
   * `docker ps`: newest first; filters as Docker's (container-filters.ts). The IMAGE of a container
   * whose image reference no longer names its image (`rmi -f` untagged it, or the tag moved) is the
   * image id, as Docker shows it. With `size`, SizeRw and SizeRootFs as Docker measures them.
   */
  async list(options: ListOptions = {}): Promise<ContainerSummary[]> {
    const all = this.ctx.store.all();
    const filter = await psFilter(options.filters, {
      resolve: (v) => this.ctx.resolve(v),
      ancestors: (refs) => this.ancestors(refs),
      ids: all.map((r) => r.Id),
    });
    // Each container's network summary and each image reference's image, read once per listing:
    // the filters and the rows both need the summary, and the 20 containers of one image named the
    // same reference (each lookup a database query and an image record read from disk: with these
    // read again per use, `ps` of 20 containers took the agent 11–22 ms CPU; bench/README.md).
    // The network's tables are read once for all (NetworkSnapshot) where the networking can.
    const { network } = this.deps;
    const view = network?.summaries?.() ?? ((id: string) => network?.summary(id));
    const summaries = new Map<string, ReturnType<ContainerNetworking['summary']>>();
    const summaryOf = (id: string) => {
      if (!summaries.has(id)) summaries.set(id, view(id));
      return summaries.get(id);
    };
    const images = new Map<string, Promise<string>>();
    const links = (r: ContainerRecord) => summaryOf(r.Id) as ContainerLinks | undefined;
    let records = filter.apply(all, links);
    if (!options.all && !options.latest && !(options.limit !== undefined && options.limit > 0) && !filter.all) {
      records = records.filter((r) => r.State.Running);
    }
    if (options.latest) records = records.slice(0, 1);
    else if (options.limit !== undefined && options.limit > 0) records = records.slice(0, options.limit);
    const now = Date.now();
    const rows: ContainerSummary[] = [];
    for (const r of records) {
      const summary = withNetworkSummary(toSummary(r, now), summaryOf(r.Id));
      const key = `${r.ImageRef}\0${r.Image}`;
      if (!images.has(key)) images.set(key, this.imageColumn(r));
      summary.Image = await images.get(key)!;
      if (options.size) Object.assign(summary, await this.size(r));
      rows.push(summary);
    }
    return rows;
  }

  /**
   * Docker's container sizes (`ps -s`, `inspect --size`, `system df -v`): SizeRw, the files of its
   * writable layer (moby pkg/directory.Size of the overlay upper dir), and SizeRootFs, that plus its
   * image's layers. A missing image or snapshot (a Dead container) counts as 0.
   */
  async size(rec: ContainerRecord): Promise<ContainerSize> {
    const sizeRw = await directorySize(this.deps.snapshotter.upperDir(rec.SnapshotKey)).catch(() => 0);
    const image = await this.deps.images.resolve(rec.Image).catch(() => undefined); // an image removed since: shown without one, as docker does
    return { SizeRw: sizeRw, SizeRootFs: sizeRw + (image?.size ?? 0) };
  }

  /** The reference the container was made from while it still names its image, else the image id. */
  private async imageColumn(rec: ContainerRecord): Promise<string> {
    if (rec.ImageRef === rec.Image) return rec.Image;
    const { images } = this.deps;
    // idOf: the index's row only; resolve also reads the manifest and config blobs (~1 ms of a `ps`).
    const id = images.idOf ? idOrUndefined(() => images.idOf!(rec.ImageRef)) : (await images.resolve(rec.ImageRef).catch(() => undefined))?.id; // an image removed since: shown without one, as docker does
    return id === rec.Image ? rec.ImageRef : rec.Image;
  }

  /** The images `ancestor` values name, with every image made from them (Docker's populateImageFilterByParents). */
  private async ancestors(refs: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const add = (id: string) => {
      if (found.has(id)) return;
      found.add(id);
      for (const child of this.deps.images.children?.(id) ?? []) add(child);
    };
    for (const ref of refs) {
      const image = await this.deps.images.resolve(ref).catch(() => undefined); // an unknown image matches no container
      if (image !== undefined) add(image.id);
    }
    return found;
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
    return withNetworkInspect(toInspect(rec, { graph }), this.deps.network?.inspect(rec.Id, { pid: rec.State.Running ? rec.State.Pid : undefined }));
  }

  /** The raw record (for the agent and tests). NotFoundError `No such container: x`. */
  get(idOrName: string): ContainerRecord {
    return this.ctx.mustGet(this.ctx.resolve(idOrName));
  }

  /**
   * How many containers are in each `ps` state (`running`, `exited`, …): `system info`'s counts, and
   * the gateway's probe of the agent every second, without a listing's image and network reads.
   */
  stateCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.ctx.store.all()) {
      const state = r.State.Status === 'removing' ? 'removing' : statusOf(r.State);
      counts.set(state, (counts.get(state) ?? 0) + 1);
    }
    return counts;
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

/** The id `idOf` answers, or undefined when the image is gone (or the reference names none). */
function idOrUndefined(idOf: () => string): string | undefined {
  try {
    return idOf();
  } catch {
    return undefined;
  }
}
