import type { ContentStore } from '@berth/content';
import { type HistoryEntry, parseReference, shortId } from '@berth/oci';
import { EPOCH, type ImageIndex } from './image-index.js';
import { familiar } from './image-names.js';
import { pruneUntil } from '@berth/filters';
import { pathMatch } from '@berth/glob';
import { type ImageFilters, normalizeFilters } from './list-filters.js';
import type { DiskUsage, ImageHistoryItem, ImageInspect, ImageManifestSummary, ImageRecord, ImageRow, ImageSummary } from './types.js';

/** Docker's views of the images: `images`, `image inspect`, `history`, `system df`. */
export class ImageViews {
  constructor(
    private readonly index: ImageIndex,
    private readonly content: ContentStore,
    private readonly usedBy: (imageId: string) => string[],
  ) {}

  /**
   * `docker images`: summaries newest first. Without `all`, untagged images that are parents of
   * other images (intermediate images) are hidden. Filters: dangling, reference (glob on the
   * familiar name, with or without tag; RepoTags are narrowed to the matches), label, before, since.
   */
  async list(options: { all?: boolean; filters?: ImageFilters; manifests?: boolean } = {}): Promise<ImageSummary[]> {
    const filters = normalizeFilters(options.filters);
    const danglingOnly = filters.boolOrDefault('dangling', false);
    // Several `before`: the oldest image (with `until`, the earliest time); several `since`: the newest.
    const befores = [
      ...filters.get('before').map((v) => Date.parse(this.index.findRow(v).created)),
      ...filters.get('until').map((v) => pruneUntil(normalizeFilters({ until: [v] }))!),
    ];
    const before = befores.length > 0 ? Math.min(...befores) : undefined;
    const since = filters.has('since') ? Math.max(...filters.get('since').map((v) => Date.parse(this.index.findRow(v).created))) : undefined;
    const out: ImageSummary[] = [];
    for (const record of await this.index.all()) {
      const created = Date.parse(record.created);
      if (before !== undefined && !(created < before)) continue;
      if (since !== undefined && !(created > since)) continue;
      let tags = record.names.filter((n) => !n.includes('@'));
      let digests = record.names.filter((n) => n.includes('@'));
      const untagged = tags.length === 0;
      if (filters.has('dangling') && danglingOnly !== untagged) continue;
      if (!options.all && record.names.length === 0 && this.index.childrenOf(record.id).length > 0) continue;
      if (!filters.matchKVList('label', record.config.config?.Labels)) continue;
      const patterns = filters.get('reference');
      const reference = { what: 'reference filter pattern' };
      if (patterns.length > 0) {
        const matches = (n: string) => {
          const ref = parseReference(n);
          return patterns.some((p) => pathMatch(p, ref.familiar(), reference) || pathMatch(p, ref.familiarName(), reference));
        };
        tags = tags.filter(matches);
        digests = digests.filter(matches);
        if (tags.length === 0 && digests.length === 0) continue;
      }
      out.push({
        Id: record.id,
        ParentId: record.parent ?? '',
        RepoTags: tags.map(familiar),
        RepoDigests: digests.map(familiar),
        Created: Math.floor(created / 1000),
        Size: record.size,
        SharedSize: -1,
        Labels: record.config.config?.Labels ?? {},
        Containers: this.usedBy(record.id).length,
        ...(options.manifests ? { Manifests: [await this.#manifestSummary(record)] } : {}),
      });
    }
    return out;
  }

  /** The image's manifest as docker's `manifests=1` lists it: its blobs' sizes, and whether they are all here. */
  async #manifestSummary(record: ImageRecord): Promise<ImageManifestSummary> {
    const blobs = [{ digest: record.manifestDigest, size: -1 }, record.manifest.config, ...record.manifest.layers];
    let content = 0;
    let available = true;
    let manifestSize = 0;
    for (const blob of blobs) {
      const info = await this.content.info(blob.digest).catch(() => undefined); // a missing blob: not available
      if (!info) available = false;
      const size = info?.size ?? Math.max(blob.size, 0);
      if (blob.digest === record.manifestDigest) manifestSize = size;
      content += size;
    }
    const { config } = record;
    return {
      ID: record.manifestDigest,
      Descriptor: { mediaType: record.manifestMediaType, digest: record.manifestDigest, size: manifestSize },
      Available: available,
      Size: { Total: content + record.size, Content: content },
      Kind: 'image',
      ImageData: {
        Platform: { architecture: config.architecture, os: config.os, ...(config.variant ? { variant: config.variant } : {}) },
        Containers: this.usedBy(record.id),
        Size: { Unpacked: record.size },
      },
    };
  }

  /** `docker image inspect`. */
  async inspect(refOrId: string): Promise<ImageInspect> {
    const record = await this.index.resolve(refOrId);
    const { config } = record;
    const manifestSize = (await this.content.info(record.manifestDigest)).size;
    return {
      Id: record.id,
      RepoTags: record.names.filter((n) => !n.includes('@')).map(familiar),
      RepoDigests: record.names.filter((n) => n.includes('@')).map(familiar),
      Parent: record.parent ?? '',
      Comment: typeof config.comment === 'string' ? config.comment : (config.history?.at(-1)?.comment ?? ''),
      Created: config.created ?? EPOCH,
      DockerVersion: typeof config.docker_version === 'string' ? config.docker_version : '',
      Author: config.author ?? '',
      Config: config.config ?? {},
      Architecture: config.architecture,
      ...(config.variant ? { Variant: config.variant } : {}),
      Os: config.os,
      ...(config['os.version'] ? { OsVersion: config['os.version'] } : {}),
      Size: record.size,
      GraphDriver: { Name: 'overlayfs', Data: null },
      RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
      Metadata: { LastTagTime: this.index.lastTagTime(record.id) ?? EPOCH },
      Descriptor: { mediaType: record.manifestMediaType, digest: record.manifestDigest, size: manifestSize },
    };
  }

  /** `docker history`: newest first; empty-layer steps have size 0. */
  async history(refOrId: string): Promise<ImageHistoryItem[]> {
    const record = await this.index.resolve(refOrId);
    const diffIds = record.config.rootfs.diff_ids;
    const entries: HistoryEntry[] =
      record.config.history && record.config.history.length > 0
        ? record.config.history
        : diffIds.map(() => ({ created: record.created }));
    let layer = 0;
    const items = entries.map((h): ImageHistoryItem => {
      const empty = h.empty_layer === true || layer >= diffIds.length;
      const size = empty ? 0 : (this.index.layerSize(diffIds[layer++]!) ?? 0);
      return {
        Id: '<missing>',
        Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
        CreatedBy: h.created_by ?? '',
        Tags: null,
        Size: size,
        Comment: h.comment ?? '',
        EmptyLayer: empty,
      };
    });
    items.reverse();
    if (items.length > 0) {
      items[0]!.Id = record.id;
      items[0]!.Tags = record.names.filter((n) => !n.includes('@')).map(familiar);
    }
    return items;
  }

  /** `docker system df` for images: distinct layers counted once. */
  async df(): Promise<DiskUsage> {
    const records = await this.index.all();
    const layerSize = (d: string) => this.index.layerSize(d) ?? 0;
    const usage = new Map<string, number>(); // diff ID → number of images using it
    for (const r of records) for (const d of new Set(r.config.rootfs.diff_ids)) usage.set(d, (usage.get(d) ?? 0) + 1);
    const inUse = new Set<string>();
    let active = 0;
    const images = records.map((r) => {
      const containers = this.usedBy(r.id).length;
      if (containers > 0) {
        active++;
        for (const d of r.config.rootfs.diff_ids) inUse.add(d);
      }
      const unique = new Set(r.config.rootfs.diff_ids);
      const sharedSize = [...unique].filter((d) => (usage.get(d) ?? 0) > 1).reduce((sum, d) => sum + layerSize(d), 0);
      return { id: r.id, size: r.size, sharedSize, containers };
    });
    const size = [...usage.keys()].reduce((sum, d) => sum + layerSize(d), 0);
    const reclaimable = [...usage.keys()].filter((d) => !inUse.has(d)).reduce((sum, d) => sum + layerSize(d), 0);
    return { count: records.length, active, size, reclaimable, images };
  }
}

/** `docker images` rows: one per tag; `<none>` for untagged images (digest rows when only digests). */
export function imageRows(summaries: ImageSummary[]): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const s of summaries) {
    const base = { ID: shortId(s.Id), Created: s.Created, Size: s.Size };
    const digestOf = (repo: string) => s.RepoDigests.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ?? '<none>';
    if (s.RepoTags.length > 0) {
      for (const tag of s.RepoTags) {
        const i = tag.lastIndexOf(':');
        const repo = tag.slice(0, i);
        rows.push({ Repository: repo, Tag: tag.slice(i + 1), Digest: digestOf(repo), ...base });
      }
    } else if (s.RepoDigests.length > 0) {
      for (const d of s.RepoDigests) {
        const [repo, digest] = d.split('@') as [string, string];
        rows.push({ Repository: repo, Tag: '<none>', Digest: digest, ...base });
      }
    } else {
      rows.push({ Repository: '<none>', Tag: '<none>', Digest: '<none>', ...base });
    }
  }
  return rows;
}
