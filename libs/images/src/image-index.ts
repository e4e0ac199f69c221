import type { ContentStore } from '@berth/content';
import { InvalidArgumentError } from '@berth/errors';
import type { MetadataDb } from '@berth/metadata';
import { type ImageConfig, type ImageManifest, parseReference, type Reference } from '@berth/oci';
import { isIdPrefix, noSuchImage, repositoryOf } from './image-names.js';
import type { ImageEvent, ImageRecord } from './types.js';

/** One row of the `images` table. */
export interface ImageDbRow {
  id: string;
  manifest_digest: string;
  manifest_media_type: string;
  created: string;
  size: number;
  parent: string | null;
  added: string;
}

/** Publishes an image event (`name` stored form; shown familiar). Never throws. */
export type ImageEmitter = (action: ImageEvent['action'], id: string, name?: string) => void;

const ID_PATTERN = /^sha256:[a-f0-9]{64}$/;

/** Docker's zero time, for a config without `created`. */
export const EPOCH = '0001-01-01T00:00:00Z';

/**
 * The image index: the `images`, `image_names` and `layer_sizes` tables of the metadata database,
 * and the records they point at in the content store (manifest and config blobs). Finds images by
 * name, digest, id or id prefix; every other part of the image store reads and names through it.
 */
export class ImageIndex {
  constructor(
    readonly db: MetadataDb,
    private readonly content: ContentStore,
  ) {}

  /**
   * Finds an image by name (`busybox`, `host:5000/a:b`), `name@sha256:<manifest digest>`, full id
   * or id prefix (with or without `sha256:`). NotFoundError `No such image: <ref>` otherwise.
   */
  async resolve(refOrId: string): Promise<ImageRecord> {
    return this.record(this.findRow(refOrId));
  }

  /** Every image, newest first. */
  async all(): Promise<ImageRecord[]> {
    return Promise.all(this.rows().map((r) => this.record(r)));
  }

  /** Every row, newest first. */
  rows(): ImageDbRow[] {
    return this.db.prepare('SELECT * FROM images ORDER BY created DESC, id').all() as ImageDbRow[];
  }

  /** The row `refOrId` names (see `resolve`). */
  findRow(refOrId: string): ImageDbRow {
    const byId = (id: string) => this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageDbRow | undefined;
    if (ID_PATTERN.test(refOrId)) {
      const row = byId(refOrId);
      if (row) return row;
      throw noSuchImage(refOrId);
    }
    let ref: Reference | undefined;
    try {
      ref = parseReference(refOrId);
    } catch {
      // Not a reference: it may still be an id prefix, tried below.
      ref = undefined;
    }
    if (ref) {
      let id: string | undefined;
      if (ref.digest) {
        id = this.imageIdOfName(`${ref.name}@${ref.digest}`);
        id ??= (this.db.prepare('SELECT id FROM images WHERE manifest_digest = ?').get(ref.digest) as { id: string } | undefined)?.id;
      } else {
        id = this.imageIdOfName(ref.toString());
      }
      if (id) return byId(id)!;
    }
    const prefix = refOrId.replace(/^sha256:/, '');
    if (/^[a-f0-9]{1,64}$/.test(prefix)) {
      const rows = this.db.prepare("SELECT * FROM images WHERE id LIKE ? || '%'").all(`sha256:${prefix}`) as ImageDbRow[];
      if (rows.length === 1) return rows[0]!;
      if (rows.length > 1) {
        throw new InvalidArgumentError(`Image ID prefix "${refOrId}" is ambiguous: it matches ${rows.length} images`);
      }
    }
    throw noSuchImage(refOrId);
  }

  imageIdOfName(name: string): string | undefined {
    return (this.db.prepare('SELECT image_id FROM image_names WHERE name = ?').get(name) as { image_id: string } | undefined)?.image_id;
  }

  /** The image's stored names, oldest first. */
  namesOf(id: string): string[] {
    const rows = this.db.prepare('SELECT name FROM image_names WHERE image_id = ? ORDER BY added, name').all(id) as Array<{
      name: string;
    }>;
    return rows.map((r) => r.name);
  }

  /** Images committed from this one (Docker's children). */
  childrenOf(id: string): string[] {
    return (this.db.prepare('SELECT id FROM images WHERE parent = ?').all(id) as Array<{ id: string }>).map((r) => r.id);
  }

  /** When a name was last pointed at the image (Docker's LastTagTime); undefined when never. */
  lastTagTime(id: string): string | undefined {
    const row = this.db.prepare('SELECT MAX(added) AS t FROM image_names WHERE image_id = ?').get(id) as { t: string | null };
    return row.t ?? undefined;
  }

  /** Points `name` at the image, moving it from another image if needed. */
  setName(name: string, id: string, added: string): void {
    this.db
      .prepare(
        'INSERT INTO image_names (name, image_id, added) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, added = excluded.added',
      )
      .run(name, id, added);
  }

  deleteName(name: string): void {
    this.db.prepare('DELETE FROM image_names WHERE name = ?').run(name);
  }

  /** Uncompressed size of a layer by diff ID, when known. */
  layerSize(diffId: string): number | undefined {
    return (this.db.prepare('SELECT size FROM layer_sizes WHERE diff_id = ?').get(diffId) as { size: number } | undefined)?.size;
  }

  setLayerSize(diffId: string, size: number): void {
    this.db.prepare('INSERT OR REPLACE INTO layer_sizes (diff_id, size) VALUES (?, ?)').run(diffId, size);
  }

  /**
   * The images and names `docker save <ref>` writes: a repository name without tag means every tag
   * of it; an id (prefix) or a digest reference saves the image without a name.
   */
  namesToSave(ref: string): Array<{ id: string; name?: string }> {
    let parsed: Reference | undefined;
    try {
      parsed = parseReference(ref, { defaultTag: false });
    } catch {
      // Not a reference: findRow below takes it as an id (prefix) or fails with "No such image".
      parsed = undefined;
    }
    if (parsed && !parsed.tag && !parsed.digest) {
      // A repository name: every tag of it (as `docker save busybox` does).
      const rows = this.db
        .prepare("SELECT name, image_id FROM image_names WHERE substr(name, 1, length(?) + 1) = ? || ':' ORDER BY added, name")
        .all(parsed.name, parsed.name) as Array<{ name: string; image_id: string }>;
      const tags = rows.filter((r) => !r.name.includes('@') && repositoryOf(r.name) === parsed.name);
      if (tags.length > 0) return tags.map((r) => ({ id: r.image_id, name: r.name }));
    }
    const row = this.findRow(ref);
    if (!parsed || isIdPrefix(row.id, ref) || parsed.digest) return [{ id: row.id }];
    return [{ id: row.id, name: parseReference(ref).toString() }];
  }

  /** The record of a row: manifest and config read from the content store. */
  async record(row: ImageDbRow): Promise<ImageRecord> {
    const manifest = await this.content.readJson<ImageManifest>(row.manifest_digest);
    const config = await this.content.readJson<ImageConfig>(manifest.config.digest);
    return {
      id: row.id,
      manifestDigest: row.manifest_digest,
      manifestMediaType: row.manifest_media_type,
      manifest,
      config,
      names: this.namesOf(row.id),
      created: row.created,
      size: row.size,
      ...(row.parent ? { parent: row.parent } : {}),
      added: row.added,
    };
  }
}
