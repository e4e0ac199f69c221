import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ContentStore } from '@berth/content';
import {
  AlreadyExistsError,
  ConflictError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '@berth/errors';
import { applyLayer, checkLayerPaths, packDirectory } from '@berth/layers';
import type { MetadataDb } from '@berth/metadata';
import {
  chainIds,
  type ContainerConfig,
  currentPlatform,
  type Descriptor,
  type HistoryEntry,
  type ImageConfig,
  type ImageManifest,
  MediaType,
  parseReference,
  type Reference,
  shortId,
  validateConfig,
  validateManifest,
} from '@berth/oci';
import { bootstrapBusybox, bootstrapDebian, type BootstrapOptions } from './bootstrap.js';
import { applyChanges } from './config-changes.js';
import { decompressed, ingestLayer, measureLayer, toOciLayerType } from './layer-blobs.js';
import { danglingFilter, globMatch, type ImageFilters, matchLabels, normalizeFilters } from './list-filters.js';
import { readArchive, writeArchive } from './oci-archive.js';
import type {
  DeleteItem,
  DiskUsage,
  ImageEvent,
  ImageHistoryItem,
  ImageInspect,
  ImageRecord,
  ImageRow,
  ImageSummary,
  LoadedImage,
  PruneResult,
} from './types.js';

/**
 * The part of a snapshotter the image store uses (`OverlaySnapshotter` of @berth/snapshots).
 * Committed layer snapshots are named by chain ID.
 */
export interface LayerSnapshotter {
  exists(key: string): Promise<boolean>;
  prepare(key: string, parent?: string): Promise<unknown>;
  commit(name: string, key: string): Promise<unknown>;
  remove(key: string): Promise<unknown>;
  upperDir(key: string): string;
  lowerDirs(key: string): string[];
}

export interface ImageStoreOptions {
  db: MetadataDb;
  content: ContentStore;
  snapshotter: LayerSnapshotter;
  /** Ids of the containers using an image; they block `remove` (unless forced) and `prune`. */
  usedBy?: (imageId: string) => string[];
  onEvent?: (event: ImageEvent) => void;
}

export interface PutImageOptions {
  /** The manifest: its exact bytes (they make its digest) or an object to serialize. */
  manifest: Buffer | ImageManifest;
  /** References to point at the image (moved from another image if they point elsewhere). */
  names?: string[];
  parent?: string;
  /** Event to publish for the new image. */
  action?: ImageEvent['action'];
  /** Uncompressed sizes by diff ID when the caller knows them (otherwise layers are read through). */
  layerSizes?: Map<string, number>;
}

export interface WriteImageOptions {
  config: ImageConfig;
  /** Layer blobs already in the content store, bottom first, matching config.rootfs.diff_ids. */
  layers: Descriptor[];
  names?: string[];
  parent?: string;
  action?: ImageEvent['action'];
  layerSizes?: Map<string, number>;
  annotations?: Record<string, string>;
}

export interface ImportOptions {
  /** Name for the image (`busybox:latest`). */
  ref?: string;
  /** Dockerfile instructions applied to the config (`CMD ["sh"]`, `ENV A=b`, ...). */
  changes?: string[];
  /** History comment; Docker's default is `Imported from -`. */
  message?: string;
  /** Creation time (default now); a fixed one makes the image id reproducible. */
  created?: Date;
}

export interface CommitOptions {
  /** Overlay upper dir of the container: its changes become the new layer. */
  upperDir: string;
  /** The container's image (id or reference). */
  parent: string;
  /** The container's config; defaults to the parent image's. `changes` apply on top. */
  config?: ContainerConfig;
  ref?: string;
  author?: string;
  message?: string;
  changes?: string[];
  /** History `created_by`; defaults to the config's command. */
  createdBy?: string;
}

interface ImageDbRow {
  id: string;
  manifest_digest: string;
  manifest_media_type: string;
  created: string;
  size: number;
  parent: string | null;
  added: string;
}

const ID_PATTERN = /^sha256:[a-f0-9]{64}$/;
const EPOCH = '0001-01-01T00:00:00Z';

/**
 * The images of one host: names and records in the metadata database, manifests, configs and
 * layer blobs in the content store, unpacked layers as snapshots named by chain ID.
 *
 * Image ids are config digests. A name is stored fully normalized (`docker.io/library/busybox:latest`)
 * and shown familiar (`busybox:latest`). Blobs and snapshots are shared between images and removed
 * only with the last image that uses them.
 */
export class ImageStore {
  readonly #db: MetadataDb;
  readonly #content: ContentStore;
  readonly #snapshotter: LayerSnapshotter;
  readonly #usedBy: (imageId: string) => string[];
  readonly #onEvent: (event: ImageEvent) => void;
  readonly #unpacking = new Map<string, Promise<string | undefined>>();

  constructor(options: ImageStoreOptions) {
    this.#db = options.db;
    this.#content = options.content;
    this.#snapshotter = options.snapshotter;
    this.#usedBy = options.usedBy ?? (() => []);
    this.#onEvent = options.onEvent ?? (() => undefined);
    // TODO(lead): move into an append-only migration of @berth/metadata. Uncompressed size per
    // layer (shared by images): `history` and `df` need it, and measuring means reading the layer.
  }

  // ---------------------------------------------------------------- lookup

  /**
   * Finds an image by name (`busybox`, `host:5000/a:b`), `name@sha256:<manifest digest>`, full id
   * or id prefix (with or without `sha256:`). NotFoundError `No such image: <ref>` otherwise.
   */
  async resolve(refOrId: string): Promise<ImageRecord> {
    return this.#record(this.#findRow(refOrId));
  }

  /** Every image, newest first. */
  async all(): Promise<ImageRecord[]> {
    const rows = this.#db.prepare('SELECT * FROM images ORDER BY created DESC, id').all() as ImageDbRow[];
    return Promise.all(rows.map((r) => this.#record(r)));
  }

  #findRow(refOrId: string): ImageDbRow {
    const byId = (id: string) => this.#db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageDbRow | undefined;
    if (ID_PATTERN.test(refOrId)) {
      const row = byId(refOrId);
      if (row) return row;
      throw noSuchImage(refOrId);
    }
    let ref: Reference | undefined;
    try {
      ref = parseReference(refOrId);
    } catch {
      ref = undefined;
    }
    if (ref) {
      let id: string | undefined;
      if (ref.digest) {
        id = this.#imageIdOfName(`${ref.name}@${ref.digest}`);
        id ??= (this.#db.prepare('SELECT id FROM images WHERE manifest_digest = ?').get(ref.digest) as { id: string } | undefined)?.id;
      } else {
        id = this.#imageIdOfName(ref.toString());
      }
      if (id) return byId(id)!;
    }
    const prefix = refOrId.replace(/^sha256:/, '');
    if (/^[a-f0-9]{1,64}$/.test(prefix)) {
      const rows = this.#db.prepare("SELECT * FROM images WHERE id LIKE ? || '%'").all(`sha256:${prefix}`) as ImageDbRow[];
      if (rows.length === 1) return rows[0]!;
      if (rows.length > 1) {
        throw new InvalidArgumentError(`Image ID prefix "${refOrId}" is ambiguous: it matches ${rows.length} images`);
      }
    }
    throw noSuchImage(refOrId);
  }

  #imageIdOfName(name: string): string | undefined {
    return (this.#db.prepare('SELECT image_id FROM image_names WHERE name = ?').get(name) as { image_id: string } | undefined)
      ?.image_id;
  }

  #namesOf(id: string): string[] {
    const rows = this.#db.prepare('SELECT name FROM image_names WHERE image_id = ? ORDER BY added, name').all(id) as Array<{
      name: string;
    }>;
    return rows.map((r) => r.name);
  }

  #childrenOf(id: string): string[] {
    return (this.#db.prepare('SELECT id FROM images WHERE parent = ?').all(id) as Array<{ id: string }>).map((r) => r.id);
  }

  async #record(row: ImageDbRow): Promise<ImageRecord> {
    const manifest = await this.#content.readJson<ImageManifest>(row.manifest_digest);
    const config = await this.#content.readJson<ImageConfig>(manifest.config.digest);
    return {
      id: row.id,
      manifestDigest: row.manifest_digest,
      manifestMediaType: row.manifest_media_type,
      manifest,
      config,
      names: this.#namesOf(row.id),
      created: row.created,
      size: row.size,
      ...(row.parent ? { parent: row.parent } : {}),
      added: row.added,
    };
  }

  // ---------------------------------------------------------------- adding images

  /**
   * Records an image whose config and layer blobs are already in the content store (after a pull,
   * a load, a build). Stores the manifest blob, validates manifest and config, measures layers it
   * has not seen (verifying their diff IDs), then points `names` at it. An image that exists
   * already (same config digest) keeps its record and only gains the names.
   */
  async putImage(options: PutImageOptions): Promise<ImageRecord> {
    const bytes = Buffer.isBuffer(options.manifest) ? options.manifest : Buffer.from(JSON.stringify(options.manifest));
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new InvalidArgumentError('Invalid image manifest: not JSON', { cause: err });
    }
    const manifest = validateManifest(parsed);
    for (const blob of [manifest.config, ...manifest.layers]) {
      if (!(await this.#content.has(blob.digest))) {
        throw new FailedPreconditionError(`Cannot add image: blob "${blob.digest}" is not in the content store`);
      }
    }
    const config = validateConfig(await this.#content.readJson(manifest.config.digest));
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new InvalidArgumentError(
        `Invalid image: the manifest has ${manifest.layers.length} layers but the config lists ${diffIds.length} diff IDs`,
      );
    }
    const names = (options.names ?? []).flatMap((n) => storedNames(parseReference(n)));
    const known = this.#db.prepare('SELECT size FROM layer_sizes WHERE diff_id = ?');
    const addSize = this.#db.prepare('INSERT OR REPLACE INTO layer_sizes (diff_id, size) VALUES (?, ?)');
    let size = 0;
    for (const [i, diffId] of diffIds.entries()) {
      let layerSize = options.layerSizes?.get(diffId) ?? (known.get(diffId) as { size: number } | undefined)?.size;
      if (layerSize === undefined) {
        const measured = await measureLayer(this.#content, manifest.layers[i]!.digest);
        if (measured.diffId !== diffId) {
          throw new InvalidArgumentError(
            `Invalid image: layer ${i} ("${manifest.layers[i]!.digest}") has diff ID "${measured.diffId}", the config says "${diffId}"`,
          );
        }
        layerSize = measured.size;
      }
      addSize.run(diffId, layerSize);
      size += layerSize;
    }
    const manifestBlob = await this.#content.ingest(bytes);
    const id = manifest.config.digest;
    const now = new Date().toISOString();
    const mediaType = manifest.mediaType ?? MediaType.OciManifest;
    this.#db.transaction(() => {
      this.#db
        .prepare('INSERT OR IGNORE INTO images (id, manifest_digest, manifest_media_type, created, size, parent, added) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, manifestBlob.digest, mediaType, config.created ?? EPOCH, size, options.parent ?? null, now);
      for (const name of names) this.#setName(name, id, now);
    })();
    if (options.action) {
      const tags = names.filter((n) => !n.includes('@'));
      if (tags.length === 0) this.#emit(options.action, id);
      for (const name of tags) this.#emit(options.action, id, name);
    }
    return this.resolve(id);
  }

  /** Writes a config and an OCI manifest for layers already stored, then `putImage`. */
  async writeImage(options: WriteImageOptions): Promise<ImageRecord> {
    const configBytes = Buffer.from(JSON.stringify(options.config));
    const configBlob = await this.#content.ingest(configBytes);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configBlob.digest, size: configBlob.size },
      layers: options.layers.map((l) => ({ ...l, mediaType: toOciLayerType(l.mediaType) })),
      ...(options.annotations ? { annotations: options.annotations } : {}),
    };
    return this.putImage({
      manifest,
      names: options.names,
      parent: options.parent,
      action: options.action,
      layerSizes: options.layerSizes,
    });
  }

  /**
   * `docker import`: a root filesystem tar (plain, gzip or zstd) becomes a one-layer image with a
   * gzip layer, `changes` applied to an empty config, and the history comment `Imported from -`.
   */
  async importTar(source: Readable | AsyncIterable<Uint8Array>, options: ImportOptions = {}): Promise<ImageRecord> {
    if (options.ref) parseTagTarget(options.ref);
    const containerConfig = applyChanges({}, options.changes ?? []);
    const layer = await ingestLayer(this.#content, source);
    try {
      // Refuse a hostile archive now, not when a container first unpacks it.
      await checkLayerPaths(await decompressed(this.#content.createReadStream(layer.descriptor.digest)));
    } catch (err) {
      const known = this.#db.prepare('SELECT 1 FROM layer_sizes WHERE diff_id = ?').get(layer.diffId);
      if (!known) await this.#content.delete(layer.descriptor.digest);
      throw err;
    }
    const created = (options.created ?? new Date()).toISOString();
    const platform = currentPlatform();
    const config: ImageConfig = {
      created,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: containerConfig,
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created, comment: options.message || 'Imported from -' }],
    };
    return this.writeImage({
      config,
      layers: [layer.descriptor],
      names: options.ref ? [options.ref] : [],
      action: 'import',
      layerSizes: new Map([[layer.diffId, layer.size]]),
    });
  }

  /**
   * `docker commit`: the container's upper dir becomes a new layer on top of the parent image's;
   * the config is the container's (or the parent's) with `changes` applied; history and diff IDs
   * are appended. Records the parent (Docker's Parent) so the parent cannot be deleted under it.
   */
  async commit(options: CommitOptions): Promise<ImageRecord> {
    if (options.ref) parseTagTarget(options.ref);
    const parent = await this.resolve(options.parent);
    const base = options.config ?? parent.config.config ?? {};
    const containerConfig = applyChanges(base, options.changes ?? []);
    const layer = await ingestLayer(this.#content, packDirectory(options.upperDir, { upper: true, gzip: false }).stream);
    const created = new Date().toISOString();
    const parentHistory: HistoryEntry[] =
      parent.config.history && parent.config.history.length > 0
        ? parent.config.history
        : parent.config.rootfs.diff_ids.map(() => ({ created: parent.created }));
    // As Docker: the container's command (before changes) describes the step.
    const command = base.Cmd ?? [];
    // The parent's platform and extras carry over; what described the parent's own build does not.
    const { container: _c, container_config: _cc, docker_version: _dv, comment: _comment, author: _a, ...inherited } = parent.config;
    const config: ImageConfig = {
      ...inherited,
      created,
      ...(options.author ? { author: options.author } : {}),
      ...(options.message ? { comment: options.message } : {}),
      config: containerConfig,
      rootfs: { type: 'layers', diff_ids: [...parent.config.rootfs.diff_ids, layer.diffId] },
      history: [
        ...parentHistory,
        {
          created,
          ...(options.author ? { author: options.author } : {}),
          created_by: options.createdBy ?? command.join(' '),
          ...(options.message ? { comment: options.message } : {}),
        },
      ],
    };
    return this.writeImage({
      config,
      layers: [...parent.manifest.layers, layer.descriptor],
      names: options.ref ? [options.ref] : [],
      parent: parent.id,
      action: 'commit',
      layerSizes: new Map([[layer.diffId, layer.size]]),
    });
  }

  /** Makes a base image without a registry: `busybox:latest` or `debian:bookworm` (see bootstrap.ts). */
  async bootstrap(kind: 'busybox' | 'debian', options: BootstrapOptions = {}): Promise<ImageRecord> {
    if (kind === 'busybox') return bootstrapBusybox(this, options);
    if (kind === 'debian') return bootstrapDebian(this, options);
    throw new InvalidArgumentError(`Unknown base image "${String(kind)}": expected "busybox" or "debian"`);
  }

  // ---------------------------------------------------------------- names

  /** Points `target` (a tag reference) at the image `source` resolves to, moving it if needed. */
  async tag(source: string, target: string): Promise<void> {
    const { id } = this.#findRow(source);
    const ref = parseTagTarget(target);
    this.#setName(ref.toString(), id, new Date().toISOString());
    this.#emit('tag', id, ref.toString());
  }

  #setName(name: string, id: string, added: string): void {
    this.#db
      .prepare(
        'INSERT INTO image_names (name, image_id, added) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, added = excluded.added',
      )
      .run(name, id, added);
  }

  #untag(name: string, id: string, out: DeleteItem[]): void {
    this.#db.prepare('DELETE FROM image_names WHERE name = ?').run(name);
    out.push({ Untagged: familiar(name) });
    this.#emit('untag', id, name);
  }

  // ---------------------------------------------------------------- removal

  /**
   * `docker rmi`. By name: untags it (and the digest names of that repository when no tag of it
   * remains); the image itself goes with its last name. Refused while a container uses an image
   * that would lose its last name, unless `force` (then only the names go; the image stays, dangling,
   * until no container needs it). By id: refused when the image has names in several repositories
   * or is in use, unless `force`; never while child images depend on it.
   */
  async remove(ref: string, options: { force?: boolean } = {}): Promise<DeleteItem[]> {
    const force = options.force ?? false;
    const row = this.#findRow(ref);
    const id = row.id;
    const out: DeleteItem[] = [];
    const users = this.#usedBy(id);
    let names = this.#namesOf(id);
    const parsed = isIdPrefix(id, ref) ? undefined : parseReference(ref);
    const name = parsed && (parsed.digest ? `${parsed.name}@${parsed.digest}` : parsed.toString());
    if (parsed && name && names.includes(name)) {
      if (!force && users.length > 0 && isSingleReference(names)) {
        throw new ConflictError(
          `conflict: unable to remove repository reference "${ref}" (must force) - container ${shortId(users[0]!)} is using its referenced image ${shortId(id)}`,
        );
      }
      this.#untag(name, id, out);
      names = this.#namesOf(id);
      if (!parsed.digest && !names.some((n) => !n.includes('@') && repositoryOf(n) === parsed.name)) {
        // No tag of this repository is left: its digest references go too (as in Docker).
        for (const n of names.filter((n) => n.includes('@') && repositoryOf(n) === parsed.name)) this.#untag(n, id, out);
        names = this.#namesOf(id);
      }
      if (names.length > 0 || users.length > 0 || this.#childrenOf(id).length > 0) return out;
      out.push(...(await this.#deleteImage(id)).items);
      return out;
    }

    if (this.#childrenOf(id).length > 0) {
      throw new ConflictError(`conflict: unable to delete ${shortId(id)} (cannot be forced) - image has dependent child images`);
    }
    if (!force && names.length > 0 && !isSingleReference(names)) {
      throw new ConflictError(`conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`);
    }
    if (!force && users.length > 0) {
      throw new ConflictError(
        `conflict: unable to delete ${shortId(id)} (must be forced) - image is being used by stopped container ${shortId(users[0]!)}`,
      );
    }
    for (const n of names) this.#untag(n, id, out);
    if (users.length > 0) return out;
    out.push(...(await this.#deleteImage(id)).items);
    return out;
  }

  /**
   * Removes unused images: dangling ones (no name, no child image, no container), or with `all`
   * every image no container uses. Repeats until nothing more goes (a parent freed by its child).
   */
  async prune(options: { all?: boolean; filters?: ImageFilters } = {}): Promise<PruneResult> {
    const filters = normalizeFilters(options.filters, ['dangling', 'label', 'until']);
    const dangling = danglingFilter(filters);
    const all = options.all || dangling === false;
    const until = filters.get('until')?.[0];
    const untilTime = until ? parseUntil(until) : undefined;
    const out: DeleteItem[] = [];
    let reclaimed = 0;
    for (;;) {
      const rows = this.#db.prepare('SELECT * FROM images').all() as ImageDbRow[];
      const candidates = [];
      for (const row of rows) {
        const names = this.#namesOf(row.id);
        if (!all && names.length > 0) continue;
        if (this.#usedBy(row.id).length > 0 || this.#childrenOf(row.id).length > 0) continue;
        if (untilTime !== undefined && Date.parse(row.created) >= untilTime) continue;
        if (filters.has('label')) {
          const config = await this.#content.readJson<ImageConfig>(row.id).catch(() => undefined);
          if (!matchLabels(config?.config?.Labels, filters.get('label'))) continue;
        }
        candidates.push({ row, names });
      }
      if (candidates.length === 0) break;
      for (const { row, names } of candidates) {
        for (const n of names) this.#untag(n, row.id, out);
        const result = await this.#deleteImage(row.id);
        out.push(...result.items);
        reclaimed += result.reclaimed;
      }
    }
    return { ImagesDeleted: out, SpaceReclaimed: reclaimed };
  }

  /**
   * Deletes an image record, then the blobs and snapshots no other image uses (snapshots top
   * down, stopping at one that still has children, e.g. a container's).
   */
  async #deleteImage(id: string): Promise<{ items: DeleteItem[]; reclaimed: number }> {
    const record = await this.resolve(id);
    const others = (this.#db.prepare('SELECT id, manifest_digest FROM images WHERE id != ?').all(id) as ImageDbRow[]);
    const keepBlobs = new Set<string>();
    const keepChains = new Set<string>();
    const keepDiffIds = new Set<string>();
    for (const other of others) {
      keepBlobs.add(other.manifest_digest);
      const m = await this.#content.readJson<ImageManifest>(other.manifest_digest).catch(() => undefined);
      if (!m) continue;
      keepBlobs.add(m.config.digest);
      for (const l of m.layers) keepBlobs.add(l.digest);
      const c = await this.#content.readJson<ImageConfig>(m.config.digest).catch(() => undefined);
      for (const chain of chainIds(c?.rootfs.diff_ids ?? [])) keepChains.add(chain);
      for (const d of c?.rootfs.diff_ids ?? []) keepDiffIds.add(d);
    }
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM image_names WHERE image_id = ?').run(id);
      this.#db.prepare('UPDATE images SET parent = NULL WHERE parent = ?').run(id);
      this.#db.prepare('DELETE FROM images WHERE id = ?').run(id);
    })();
    this.#emit('delete', id);
    const items: DeleteItem[] = [{ Deleted: id }];

    for (const blob of [record.manifestDigest, record.manifest.config.digest, ...record.manifest.layers.map((l) => l.digest)]) {
      if (!keepBlobs.has(blob)) await this.#content.delete(blob);
    }
    const chains = chainIds(record.config.rootfs.diff_ids);
    for (let i = chains.length - 1; i >= 0; i--) {
      const chain = chains[i]!;
      if (keepChains.has(chain)) break; // every lower chain is kept too
      if (!(await this.#snapshotter.exists(chain))) continue;
      try {
        await this.#snapshotter.remove(chain);
        items.push({ Deleted: chain });
      } catch (err) {
        if (err instanceof FailedPreconditionError || err instanceof NotFoundError) break;
        throw err;
      }
    }
    let reclaimed = 0;
    const sizeOf = this.#db.prepare('SELECT size FROM layer_sizes WHERE diff_id = ?');
    for (const diffId of new Set(record.config.rootfs.diff_ids)) {
      if (!keepDiffIds.has(diffId)) reclaimed += (sizeOf.get(diffId) as { size: number } | undefined)?.size ?? 0;
    }
    return { items, reclaimed };
  }

  // ---------------------------------------------------------------- unpack

  /**
   * Ensures a committed snapshot exists for every layer chain of the image and returns the top
   * chain ID (undefined for an image without layers). Each missing layer is applied into a fresh
   * `extract-<random>` snapshot on its parent chain, its diff ID checked, then committed under its
   * chain ID; if another unpacker committed it first, ours is discarded.
   */
  async unpack(imageId: string): Promise<string | undefined> {
    const record = await this.resolve(imageId);
    const running = this.#unpacking.get(record.id);
    if (running) return running;
    const work = this.#unpack(record).finally(() => this.#unpacking.delete(record.id));
    this.#unpacking.set(record.id, work);
    return work;
  }

  async #unpack(record: ImageRecord): Promise<string | undefined> {
    const diffIds = record.config.rootfs.diff_ids;
    const chains = chainIds(diffIds);
    for (const [i, chain] of chains.entries()) {
      if (await this.#snapshotter.exists(chain)) continue;
      const key = `extract-${randomBytes(8).toString('hex')}`;
      await this.#snapshotter.prepare(key, i > 0 ? chains[i - 1] : undefined);
      try {
        const { diffId } = await applyLayer(this.#snapshotter.upperDir(key), this.#content.createReadStream(record.manifest.layers[i]!.digest), {
          whiteouts: 'overlay',
          lowers: this.#snapshotter.lowerDirs(key),
        });
        if (diffId !== diffIds[i]) {
          throw new InvalidArgumentError(
            `Cannot unpack image ${shortId(record.id)}: layer ${i} has diff ID "${diffId}", the config says "${diffIds[i]}"`,
          );
        }
        try {
          await this.#snapshotter.commit(chain, key);
        } catch (err) {
          if (!(err instanceof AlreadyExistsError)) throw err;
          await this.#snapshotter.remove(key);
        }
      } catch (err) {
        await this.#snapshotter.remove(key).catch(() => undefined);
        throw err;
      }
    }
    return chains.at(-1);
  }

  // ---------------------------------------------------------------- views

  /**
   * `docker images`: summaries newest first. Without `all`, untagged images that are parents of
   * other images (intermediate images) are hidden. Filters: dangling, reference (glob on the
   * familiar name, with or without tag; RepoTags are narrowed to the matches), label, before, since.
   */
  async list(options: { all?: boolean; filters?: ImageFilters } = {}): Promise<ImageSummary[]> {
    const filters = normalizeFilters(options.filters);
    const dangling = danglingFilter(filters);
    const createdOf = (key: string) => {
      const values = filters.get(key);
      return values && values.length > 0 ? Math.min(...values.map((v) => Date.parse(this.#findRow(v).created))) : undefined;
    };
    const before = createdOf('before');
    const since = filters.has('since') ? Math.max(...filters.get('since')!.map((v) => Date.parse(this.#findRow(v).created))) : undefined;
    const out: ImageSummary[] = [];
    for (const record of await this.all()) {
      const created = Date.parse(record.created);
      if (before !== undefined && !(created < before)) continue;
      if (since !== undefined && !(created > since)) continue;
      let tags = record.names.filter((n) => !n.includes('@'));
      let digests = record.names.filter((n) => n.includes('@'));
      const untagged = tags.length === 0;
      if (dangling !== undefined && dangling !== untagged) continue;
      if (!options.all && record.names.length === 0 && this.#childrenOf(record.id).length > 0) continue;
      if (!matchLabels(record.config.config?.Labels, filters.get('label'))) continue;
      const patterns = filters.get('reference');
      if (patterns && patterns.length > 0) {
        const matches = (n: string) => {
          const ref = parseReference(n);
          return patterns.some((p) => globMatch(p, ref.familiar()) || globMatch(p, ref.familiarName()));
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
        Containers: this.#usedBy(record.id).length,
      });
    }
    return out;
  }

  /** `docker image inspect`. */
  async inspect(refOrId: string): Promise<ImageInspect> {
    const record = await this.resolve(refOrId);
    const { config } = record;
    const lastTag = this.#db.prepare('SELECT MAX(added) AS t FROM image_names WHERE image_id = ?').get(record.id) as { t: string | null };
    const manifestSize = (await this.#content.info(record.manifestDigest)).size;
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
      Metadata: { LastTagTime: lastTag.t ?? EPOCH },
      Descriptor: { mediaType: record.manifestMediaType, digest: record.manifestDigest, size: manifestSize },
    };
  }

  /** `docker history`: newest first; empty-layer steps have size 0. */
  async history(refOrId: string): Promise<ImageHistoryItem[]> {
    const record = await this.resolve(refOrId);
    const diffIds = record.config.rootfs.diff_ids;
    const entries: HistoryEntry[] =
      record.config.history && record.config.history.length > 0
        ? record.config.history
        : diffIds.map(() => ({ created: record.created }));
    const sizeOf = this.#db.prepare('SELECT size FROM layer_sizes WHERE diff_id = ?');
    let layer = 0;
    const items = entries.map((h): ImageHistoryItem => {
      const empty = h.empty_layer === true || layer >= diffIds.length;
      const size = empty ? 0 : ((sizeOf.get(diffIds[layer++]!) as { size: number } | undefined)?.size ?? 0);
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
    const records = await this.all();
    const sizeOf = this.#db.prepare('SELECT size FROM layer_sizes WHERE diff_id = ?');
    const layerSize = (d: string) => (sizeOf.get(d) as { size: number } | undefined)?.size ?? 0;
    const usage = new Map<string, number>(); // diff ID → number of images using it
    for (const r of records) for (const d of new Set(r.config.rootfs.diff_ids)) usage.set(d, (usage.get(d) ?? 0) + 1);
    const inUse = new Set<string>();
    let active = 0;
    const images = records.map((r) => {
      const containers = this.#usedBy(r.id).length;
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

  // ---------------------------------------------------------------- archives

  /**
   * `docker save`: an OCI image-layout tar of the images (a repository name without tag saves all
   * its tags), with Docker's manifest.json too. Errors (unknown image) surface on the stream.
   */
  save(refs: string[]): Readable {
    return writeArchive(this.#content, async () => {
      const images = new Map<string, { record: ImageRecord; names: string[] }>();
      for (const ref of refs) {
        const entries = await this.#namesToSave(ref);
        for (const { id, name } of entries) {
          const entry = images.get(id) ?? { record: await this.resolve(id), names: [] };
          if (name && !entry.names.includes(name)) entry.names.push(name);
          images.set(id, entry);
        }
      }
      for (const { record } of images.values()) this.#emit('save', record.id);
      return [...images.values()];
    });
  }

  async #namesToSave(ref: string): Promise<Array<{ id: string; name?: string }>> {
    let parsed: Reference | undefined;
    try {
      parsed = parseReference(ref, { defaultTag: false });
    } catch {
      parsed = undefined;
    }
    if (parsed && !parsed.tag && !parsed.digest) {
      // A repository name: every tag of it (as `docker save busybox` does).
      const rows = this.#db
        .prepare("SELECT name, image_id FROM image_names WHERE substr(name, 1, length(?) + 1) = ? || ':' ORDER BY added, name")
        .all(parsed.name, parsed.name) as Array<{ name: string; image_id: string }>;
      const tags = rows.filter((r) => !r.name.includes('@') && repositoryOf(r.name) === parsed.name);
      if (tags.length > 0) return tags.map((r) => ({ id: r.image_id, name: r.name }));
    }
    const row = this.#findRow(ref);
    if (!parsed || isIdPrefix(row.id, ref) || parsed.digest) return [{ id: row.id }];
    return [{ id: row.id, name: parseReference(ref).toString() }];
  }

  /**
   * `docker load`: an OCI image-layout tar (index.json; names from the `io.containerd.image.name`
   * or `org.opencontainers.image.ref.name` annotations) or a classic `docker save` tar
   * (manifest.json with `<id>.json` configs and `<id>/layer.tar` or `blobs/` layers). Blobs are
   * verified as they are stored. Returns one item per loaded name (or per untagged image).
   */
  async load(source: Readable | AsyncIterable<Uint8Array>): Promise<LoadedImage[]> {
    const images = await readArchive(this.#content, source);
    const out: LoadedImage[] = [];
    for (const image of images) {
      const record = await this.putImage({ manifest: image.manifest, names: image.names, action: 'load' });
      const tags = image.names.map((n) => parseReference(n)).filter((r) => !r.digest || r.tag);
      if (tags.length === 0) out.push({ id: record.id });
      for (const ref of tags) out.push({ id: record.id, name: ref.familiar() });
    }
    return out;
  }

  #emit(action: ImageEvent['action'], id: string, name?: string): void {
    try {
      this.#onEvent(name ? { action, id, name: familiar(name) } : { action, id });
    } catch {
      // A failing listener must not undo or fail a finished operation.
    }
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

function noSuchImage(ref: string): NotFoundError {
  return new NotFoundError(`No such image: ${ref}`, { code: 'NO_SUCH_IMAGE' });
}

function parseTagTarget(target: string): Reference {
  const ref = parseReference(target);
  if (ref.digest) throw new InvalidArgumentError('refusing to create a tag with a digest reference');
  return ref;
}

/** The names a reference is stored under: the tag form and/or the digest form. */
function storedNames(ref: Reference): string[] {
  const out: string[] = [];
  if (ref.tag) out.push(`${ref.name}:${ref.tag}`);
  if (ref.digest) out.push(`${ref.name}@${ref.digest}`);
  return out;
}

function familiar(name: string): string {
  return parseReference(name).familiar();
}

function repositoryOf(name: string): string {
  return parseReference(name).name;
}

/** Docker's isImageIDPrefix: the argument is (a prefix of) the id, with or without `sha256:`. */
function isIdPrefix(id: string, ref: string): boolean {
  return ref.length > 0 && (id.startsWith(ref) || id.slice('sha256:'.length).startsWith(ref));
}

/**
 * Docker's isSingleReference: at most one tag, and every name (tags and digests) in the same
 * repository. Removing such an image by id needs no force.
 */
function isSingleReference(names: string[]): boolean {
  if (names.length === 0) return false;
  const tags = names.filter((n) => !n.includes('@'));
  if (tags.length > 1) return false;
  return new Set(names.map(repositoryOf)).size === 1;
}

/** `until` for prune: RFC 3339, unix seconds, or a Go duration ago (`24h`, `30m`). */
function parseUntil(s: string): number {
  const duration = /^(\d+)(h|m|s)$/.exec(s);
  if (duration) {
    const unit = { h: 3600_000, m: 60_000, s: 1000 }[duration[2] as 'h' | 'm' | 's'];
    return Date.now() - Number(duration[1]) * unit;
  }
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid filter 'until=${s}'`);
  return t;
}
