import { createHash } from 'node:crypto';
import type { ContentStore } from '@berth/content';
import type { MetadataDb } from '@berth/metadata';
import type { ContainerConfig, Descriptor, ImageConfig, ImageManifest } from '@berth/oci';

/** What a cached step produced. */
export interface CachedStep {
  /** The layer the step made; undefined for a step without one (an empty WORKDIR). */
  layer?: { descriptor: Descriptor; diffId: string; size: number };
  /** The container config after the step. */
  config: ContainerConfig;
  /** The history `created_by` of the step. */
  createdBy: string;
  /** When the step ran (ISO 8601): its history time, so that a cached rebuild makes the same image. */
  created: string;
}

interface CacheRow {
  key: string;
  layer_digest: string | null;
  layer_media_type: string | null;
  layer_size: number | null;
  diff_id: string | null;
  uncompressed_size: number | null;
  config: string;
  created_by: string;
  created: string;
  last_used: string;
}

/**
 * The build cache of one host, in the metadata database (table `build_cache`): a step's cache key
 * → the layer it made and the config after it. Keys chain (see `cacheKey`), so a change to one step
 * changes the key of every step after it. Layer blobs stay in the content store; a record whose
 * blob has gone (an image removal deleted it) reads as a miss.
 */
export class BuildCache {
  readonly #db: MetadataDb;
  readonly #content: ContentStore;

  constructor(db: MetadataDb, content: ContentStore) {
    this.#db = db;
    this.#content = content;
  }

  /** The record for `key`, or undefined (also when its layer blob is missing); marks it used. */
  async get(key: string): Promise<CachedStep | undefined> {
    const row = this.#db.prepare('SELECT * FROM build_cache WHERE key = ?').get(key) as CacheRow | undefined;
    if (!row) return undefined;
    if (row.layer_digest && !(await this.#content.has(row.layer_digest))) {
      this.#db.prepare('DELETE FROM build_cache WHERE key = ?').run(key);
      return undefined;
    }
    this.#db.prepare('UPDATE build_cache SET last_used = ? WHERE key = ?').run(new Date().toISOString(), key);
    return {
      ...(row.layer_digest
        ? {
            layer: {
              descriptor: { mediaType: row.layer_media_type!, digest: row.layer_digest, size: row.layer_size! },
              diffId: row.diff_id!,
              size: row.uncompressed_size!,
            },
          }
        : {}),
      config: JSON.parse(row.config) as ContainerConfig,
      createdBy: row.created_by,
      created: row.created,
    };
  }

  /** Records (or replaces) what the step of `key` produced. */
  put(key: string, step: CachedStep): void {
    const now = new Date().toISOString();
    this.#db
      .prepare(
        `INSERT OR REPLACE INTO build_cache (key, layer_digest, layer_media_type, layer_size, diff_id, uncompressed_size, config, created_by, created, last_used)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        key,
        step.layer?.descriptor.digest ?? null,
        step.layer?.descriptor.mediaType ?? null,
        step.layer?.descriptor.size ?? null,
        step.layer?.diffId ?? null,
        step.layer?.size ?? null,
        JSON.stringify(step.config),
        step.createdBy,
        step.created,
        now,
      );
  }

  /** Number of records. */
  count(): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM build_cache').get() as { n: number }).n;
  }

  /** Records and the compressed bytes of their distinct layer blobs (`system df`'s Build Cache row). */
  usage(): { records: number; size: number } {
    const records = this.count();
    const size = (this.#db.prepare('SELECT COALESCE(SUM(s), 0) AS size FROM (SELECT MAX(layer_size) AS s FROM build_cache WHERE layer_digest IS NOT NULL GROUP BY layer_digest)').get() as { size: number }).size;
    return { records, size };
  }

  /**
   * `berth builder prune`: removes the records not used since `olderThan` (all by default) and the
   * layer blobs that only they referenced (a blob an image uses stays). Returns the number of
   * records removed and the bytes of blobs deleted.
   */
  async prune(options: { olderThan?: Date } = {}): Promise<{ records: number; reclaimed: number }> {
    const where = options.olderThan ? 'WHERE last_used < ?' : '';
    const params = options.olderThan ? [options.olderThan.toISOString()] : [];
    const rows = this.#db.prepare(`SELECT * FROM build_cache ${where}`).all(...params) as CacheRow[];
    this.#db.prepare(`DELETE FROM build_cache ${where}`).run(...params);
    const stillCached = new Set(
      (this.#db.prepare('SELECT layer_digest FROM build_cache WHERE layer_digest IS NOT NULL').all() as Array<{ layer_digest: string }>).map(
        (r) => r.layer_digest,
      ),
    );
    const usedByImages = await this.#imageBlobs();
    let reclaimed = 0;
    for (const digest of new Set(rows.map((r) => r.layer_digest).filter((d): d is string => d !== null))) {
      if (stillCached.has(digest) || usedByImages.has(digest)) continue;
      const info = await this.#content.info(digest).catch(() => undefined);
      if (!info) continue;
      await this.#content.delete(digest);
      reclaimed += info.size;
    }
    return { records: rows.length, reclaimed };
  }

  async #imageBlobs(): Promise<Set<string>> {
    const out = new Set<string>();
    const rows = this.#db.prepare('SELECT manifest_digest FROM images').all() as Array<{ manifest_digest: string }>;
    for (const { manifest_digest } of rows) {
      const manifest = await this.#content.readJson<ImageManifest>(manifest_digest).catch(() => undefined);
      for (const layer of manifest?.layers ?? []) out.add(layer.digest);
    }
    return out;
  }
}

/** A cache key: sha256 over the parent's key and the parts that decide the step's output. */
export function cacheKey(parent: string, ...parts: string[]): string {
  const hash = createHash('sha256').update(parent);
  for (const part of parts) hash.update('\0').update(part);
  return `sha256:${hash.digest('hex')}`;
}

/** The key a stage starts from: its base image's config digest (or `scratch`). */
export function baseKey(base: { id: string } | 'scratch'): string {
  return cacheKey('', 'FROM', base === 'scratch' ? 'scratch' : base.id);
}

export type { ImageConfig };
