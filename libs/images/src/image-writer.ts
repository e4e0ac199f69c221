import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ContentStore } from '@berth/content';
import { FailedPreconditionError, InvalidArgumentError } from '@berth/errors';
import { checkLayerPaths, packDirectory } from '@berth/layers';
import {
  type ContainerConfig,
  currentPlatform,
  type Descriptor,
  type HistoryEntry,
  type ImageConfig,
  type ImageManifest,
  MediaType,
  parseReference,
  validateConfig,
  validateManifest,
} from '@berth/oci';
import { applyChanges } from './config-changes.js';
import { EPOCH, type ImageEmitter, type ImageIndex } from './image-index.js';
import { parseTagTarget, storedNames } from './image-names.js';
import { decompressed, ingestLayer, measureLayer, toOciLayerType } from './layer-blobs.js';
import type { HeldResource, ImageEvent, ImageRecord } from './types.js';

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
  /** Paths of the upper dir that are not changes (the runtime's mountpoint stubs), left out. */
  exclude?: readonly string[];
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

/**
 * Adds images to the store: from blobs already stored (pull, load, build), from a root filesystem
 * tar (`docker import`) or from a container's upper dir (`docker commit`).
 */
export class ImageWriter {
  constructor(
    private readonly index: ImageIndex,
    private readonly content: ContentStore,
    private readonly emit: ImageEmitter,
    /** Whether a lease holds a blob (then a refused import leaves it). */
    private readonly held: (resource: HeldResource) => boolean = () => false,
  ) {}

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
      if (!(await this.content.has(blob.digest))) {
        throw new FailedPreconditionError(`Cannot add image: blob "${blob.digest}" is not in the content store`);
      }
    }
    const config = validateConfig(await this.content.readJson(manifest.config.digest));
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) {
      throw new InvalidArgumentError(
        `Invalid image: the manifest has ${manifest.layers.length} layers but the config lists ${diffIds.length} diff IDs`,
      );
    }
    const names = (options.names ?? []).flatMap((n) => storedNames(parseReference(n)));
    let size = 0;
    for (const [i, diffId] of diffIds.entries()) {
      let layerSize = options.layerSizes?.get(diffId) ?? this.index.layerSize(diffId);
      if (layerSize === undefined) {
        const measured = await measureLayer(this.content, manifest.layers[i]!.digest);
        if (measured.diffId !== diffId) {
          throw new InvalidArgumentError(
            `Invalid image: layer ${i} ("${manifest.layers[i]!.digest}") has diff ID "${measured.diffId}", the config says "${diffId}"`,
          );
        }
        layerSize = measured.size;
      }
      this.index.setLayerSize(diffId, layerSize);
      size += layerSize;
    }
    // A manifest stored before (a rebuild that made the same image) is not written and fsynced again.
    const manifestDigest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const manifestBlob = await this.content.ingest(bytes, { expected: manifestDigest, size: bytes.length });
    const id = manifest.config.digest;
    const now = new Date().toISOString();
    const mediaType = manifest.mediaType ?? MediaType.OciManifest;
    this.index.db.transaction(() => {
      this.index.db
        .prepare('INSERT OR IGNORE INTO images (id, manifest_digest, manifest_media_type, created, size, parent, added) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(id, manifestBlob.digest, mediaType, config.created ?? EPOCH, size, options.parent ?? null, now);
      for (const name of names) this.index.setName(name, id, now);
    })();
    if (options.action) {
      const tags = names.filter((n) => !n.includes('@'));
      if (tags.length === 0) this.emit(options.action, id);
      for (const name of tags) this.emit(options.action, id, name);
    }
    return this.index.resolve(id);
  }

  /** Writes a config and an OCI manifest for layers already stored, then `putImage`. */
  async writeImage(options: WriteImageOptions): Promise<ImageRecord> {
    const configBytes = Buffer.from(JSON.stringify(options.config));
    const configBlob = await this.content.ingest(configBytes);
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
    const layer = await ingestLayer(this.content, source);
    try {
      // Refuse a hostile archive now, not when a container first unpacks it.
      await checkLayerPaths(await decompressed(this.content.createReadStream(layer.descriptor.digest)));
    } catch (err) {
      // Unless an image or a lease (a build that made the same layer) has it too.
      const digest = layer.descriptor.digest;
      if (this.index.layerSize(layer.diffId) === undefined && !this.held({ type: 'blob', id: digest })) await this.content.delete(digest);
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
    const parent = await this.index.resolve(options.parent);
    const base = options.config ?? parent.config.config ?? {};
    const containerConfig = applyChanges(base, options.changes ?? []);
    const layer = await ingestLayer(this.content, packDirectory(options.upperDir, { upper: true, gzip: false, exclude: options.exclude }).stream);
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
      // As Docker: the image is announced by its tag (the container announces the commit itself).
      action: options.ref ? 'tag' : undefined,
      layerSizes: new Map([[layer.diffId, layer.size]]),
    });
  }
}
