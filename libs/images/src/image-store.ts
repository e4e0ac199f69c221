import type { Readable } from 'node:stream';
import type { ContentStore } from '@berth/content';
import { InvalidArgumentError } from '@berth/errors';
import type { MetadataDb } from '@berth/metadata';
import { parseReference } from '@berth/oci';
import { bootstrapBusybox, bootstrapDebian, type BootstrapOptions } from './bootstrap.js';
import { ImageCollector } from './image-gc.js';
import { ImageIndex } from './image-index.js';
import { familiar, parseTagTarget } from './image-names.js';
import { ImageUnpacker, type LayerSnapshotter } from './image-unpacker.js';
import { ImageViews } from './image-views.js';
import { ImageWriter, type CommitOptions, type ImportOptions, type PutImageOptions, type WriteImageOptions } from './image-writer.js';
import type { ImageFilters } from './list-filters.js';
import { readArchive, writeArchive } from './oci-archive.js';
import type {
  DeleteItem,
  DiskUsage,
  HeldResource,
  ImageEvent,
  ImageHistoryItem,
  ImageInspect,
  ImageRecord,
  ImageSummary,
  LoadedImage,
  PruneResult,
} from './types.js';
import type { Logger } from '@berth/log';

export type { LayerSnapshotter } from './image-unpacker.js';
export type { CommitOptions, ImportOptions, PutImageOptions, WriteImageOptions } from './image-writer.js';
export { imageRows } from './image-views.js';

export interface ImageStoreOptions {
  db: MetadataDb;
  content: ContentStore;
  snapshotter: LayerSnapshotter;
  /** Ids of the containers using an image; they block `remove` (unless forced) and `prune`. */
  usedBy?: (imageId: string) => string[];
  /**
   * Whether a lease holds a blob or snapshot (the agent: its build worker's leases). `remove`,
   * `prune` and a refused import never delete what a lease holds, however unused it looks.
   */
  held?: (resource: HeldResource) => boolean;
  onEvent?: (event: ImageEvent) => void;
  /** Told what a failed unpack could not clean up. */
  log?: Logger;
}

/**
 * The images of one host: names and records in the metadata database, manifests, configs and
 * layer blobs in the content store, unpacked layers as snapshots named by chain ID.
 *
 * Image ids are config digests. A name is stored fully normalized (`docker.io/library/busybox:latest`)
 * and shown familiar (`busybox:latest`). Blobs and snapshots are shared between images and removed
 * only with the last image that uses them.
 *
 * A facade over its parts: the index (image-index.ts: lookup and names), the writer
 * (image-writer.ts: put, import, commit), the collector (image-gc.ts: rmi, prune), the unpacker
 * (image-unpacker.ts: layers → snapshots), the views (image-views.ts: images, inspect, history, df)
 * and the archives (oci-archive.ts: save, load).
 */
export class ImageStore {
  readonly #content: ContentStore;
  readonly #onEvent: (event: ImageEvent) => void;
  readonly #index: ImageIndex;
  readonly #writer: ImageWriter;
  readonly #gc: ImageCollector;
  readonly #unpacker: ImageUnpacker;
  readonly #views: ImageViews;

  constructor(options: ImageStoreOptions) {
    this.#content = options.content;
    this.#onEvent = options.onEvent ?? (() => undefined);
    const usedBy = options.usedBy ?? (() => []);
    const emit = (action: ImageEvent['action'], id: string, name?: string) => this.#emit(action, id, name);
    // TODO(lead): move into an append-only migration of @berth/metadata. Uncompressed size per
    // layer (shared by images): `history` and `df` need it, and measuring means reading the layer.
    this.#index = new ImageIndex(options.db, options.content);
    const held = options.held ?? (() => false);
    this.#writer = new ImageWriter(this.#index, options.content, emit, held);
    this.#gc = new ImageCollector(this.#index, options.content, options.snapshotter, { usedBy, held }, emit);
    this.#unpacker = new ImageUnpacker(options.content, options.snapshotter, options.log);
    this.#views = new ImageViews(this.#index, options.content, usedBy);
  }

  // ---------------------------------------------------------------- lookup

  /**
   * Finds an image by name (`busybox`, `host:5000/a:b`), `name@sha256:<manifest digest>`, full id
   * or id prefix (with or without `sha256:`). NotFoundError `No such image: <ref>` otherwise.
   */
  async resolve(refOrId: string): Promise<ImageRecord> {
    return this.#index.resolve(refOrId);
  }

  /** The id of the image `refOrId` names (see `resolve`), from the index alone: no record read. */
  idOf(refOrId: string): string {
    return this.#index.findRow(refOrId).id;
  }

  /** Ids of the images made from this one (Docker's children: commits, builds recording a parent). */
  children(imageId: string): string[] {
    return this.#index.childrenOf(imageId);
  }

  /** Every image, newest first. */
  async all(): Promise<ImageRecord[]> {
    return this.#index.all();
  }

  // ---------------------------------------------------------------- adding images (image-writer.ts)

  putImage(options: PutImageOptions): Promise<ImageRecord> {
    return this.#writer.putImage(options);
  }

  writeImage(options: WriteImageOptions): Promise<ImageRecord> {
    return this.#writer.writeImage(options);
  }

  importTar(source: Readable | AsyncIterable<Uint8Array>, options: ImportOptions = {}): Promise<ImageRecord> {
    return this.#writer.importTar(source, options);
  }

  commit(options: CommitOptions): Promise<ImageRecord> {
    return this.#writer.commit(options);
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
    const { id } = this.#index.findRow(source);
    const ref = parseTagTarget(target);
    this.#index.setName(ref.toString(), id, new Date().toISOString());
    this.#emit('tag', id, ref.toString());
  }

  /**
   * Records `name@sha256:…` for an image already in the store (docker keeps the repository digest
   * of a push, shown by `images --digests` and in RepoDigests).
   */
  recordDigest(idOrRef: string, digestRef: string): void {
    const { id } = this.#index.findRow(idOrRef);
    this.#index.setName(digestRef, id, new Date().toISOString());
  }

  // ---------------------------------------------------------------- removal (image-gc.ts)

  remove(ref: string, options: { force?: boolean } = {}): Promise<DeleteItem[]> {
    return this.#gc.remove(ref, options);
  }

  /** See ImageGc.prune; emits Docker's image `prune` event (no image, `reclaimed` bytes). */
  async prune(options: { all?: boolean; filters?: ImageFilters } = {}): Promise<PruneResult> {
    const result = await this.#gc.prune(options);
    try {
      this.#onEvent({ action: 'prune', id: '', attributes: { reclaimed: String(result.SpaceReclaimed) } });
    } catch {
      // A failing listener must not fail a finished prune.
    }
    return result;
  }

  // ---------------------------------------------------------------- unpack (image-unpacker.ts)

  /** See ImageUnpacker.unpack: every layer chain as a committed snapshot; the top chain ID. */
  async unpack(imageId: string): Promise<string | undefined> {
    return this.#unpacker.unpack(await this.#index.resolve(imageId));
  }

  // ---------------------------------------------------------------- views (image-views.ts)

  list(options: { all?: boolean; filters?: ImageFilters; manifests?: boolean } = {}): Promise<ImageSummary[]> {
    return this.#views.list(options);
  }

  inspect(refOrId: string): Promise<ImageInspect> {
    return this.#views.inspect(refOrId);
  }

  history(refOrId: string): Promise<ImageHistoryItem[]> {
    return this.#views.history(refOrId);
  }

  df(): Promise<DiskUsage> {
    return this.#views.df();
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
        const entries = this.#index.namesToSave(ref);
        for (const { id, name } of entries) {
          const entry = images.get(id) ?? { record: await this.#index.resolve(id), names: [] };
          if (name && !entry.names.includes(name)) entry.names.push(name);
          images.set(id, entry);
        }
      }
      for (const { record } of images.values()) this.#emit('save', record.id);
      return [...images.values()];
    });
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
