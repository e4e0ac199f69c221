import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from '@berth/errors';
import type { ContainerConfig, Descriptor } from '@berth/oci';
import type { BuildWorker } from '@berth/worker';

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

/** The lease (without expiry) that keeps the cache's layer blobs in the host's content store. */
export const CACHE_LEASE = 'berth-build-cache';

/**
 * The build cache of one host's builder, in its own SQLite database (`<workDir>/cache.db`, table
 * `build_cache`): a step's cache key → the layer it made and the config after it. Layer blobs stay
 * in the host's content store, held there by the lease CACHE_LEASE (so a build's lease ending does
 * not take them); a record whose blob has gone anyway (deleted by hand) is found out by `HitChecks`
 * and dropped, and the build runs again without it.
 */
export class BuildCache {
  readonly #db: Database.Database;
  readonly #worker: Pick<BuildWorker, 'content' | 'leases'>;
  #lease?: Promise<void>;
  /** The lookup's statements, prepared once: a fully cached build makes one lookup per step. */
  readonly #select: Database.Statement;
  readonly #touch: Database.Statement;

  constructor(file: string, worker: Pick<BuildWorker, 'content' | 'leases'>) {
    mkdirSync(dirname(file), { recursive: true });
    this.#db = new Database(file, { timeout: 10_000 });
    this.#db.pragma('journal_mode = WAL');
    // No fsync per commit (WAL stays consistent; only a power loss may undo the last commits): a lost record
    // or last-used time is a cache miss, not a wrong build, and each hit's update would wait on the disk.
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS build_cache (
      key TEXT PRIMARY KEY,
      layer_digest TEXT,
      layer_media_type TEXT,
      layer_size INTEGER,
      diff_id TEXT,
      uncompressed_size INTEGER,
      config TEXT NOT NULL,
      created_by TEXT NOT NULL,
      created TEXT NOT NULL,
      last_used TEXT NOT NULL
    )`);
    this.#worker = worker;
    this.#select = this.#db.prepare('SELECT * FROM build_cache WHERE key = ?');
    this.#touch = this.#db.prepare('UPDATE build_cache SET last_used = ? WHERE key = ?');
  }

  /**
   * The record for `key`, or undefined; marks it used. Its layer blob is not looked at here (the
   * cache's lease keeps it from the host's collection): `hits` checks the blobs of a build's hits
   * in the background, all at once, before anything reads them (`HitChecks`).
   */
  get(key: string, hits?: HitChecks): CachedStep | undefined {
    const row = this.#select.get(key) as CacheRow | undefined;
    if (!row) return undefined;
    if (row.layer_digest) hits?.check(row.layer_digest);
    this.#touch.run(new Date().toISOString(), key);
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

  /**
   * Records (or replaces) what the step of `key` produced; its layer blob joins the cache's lease,
   * and the blob of a replaced record (a step rerun with --no-cache made other files) leaves it.
   */
  async put(key: string, step: CachedStep): Promise<void> {
    if (step.layer) {
      await this.#ensureLease();
      await this.#worker.leases.addResource(CACHE_LEASE, { type: 'blob', id: step.layer.descriptor.digest });
    }
    const replaced = (this.#db.prepare('SELECT layer_digest FROM build_cache WHERE key = ?').get(key) as { layer_digest: string | null } | undefined)?.layer_digest;
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
        new Date().toISOString(),
      );
    if (replaced && replaced !== step.layer?.descriptor.digest && !this.#db.prepare('SELECT 1 FROM build_cache WHERE layer_digest = ?').get(replaced)) {
      await this.#worker.leases.removeResource(CACHE_LEASE, { type: 'blob', id: replaced });
    }
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
   * `berth builder prune`: removes the records not used since `olderThan` (all by default) and
   * lets go of the layer blobs only they referenced; the host deletes those no image uses. Returns
   * the number of records removed and the bytes of blobs deleted.
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
    let reclaimed = 0;
    for (const digest of new Set(rows.map((r) => r.layer_digest).filter((d): d is string => d !== null))) {
      if (stillCached.has(digest)) continue;
      const result = await this.#worker.leases.removeResource(CACHE_LEASE, { type: 'blob', id: digest }).catch((err) => {
        if (err instanceof NotFoundError) return { collected: false, reclaimed: 0 }; // no cache lease on this host yet
        throw err;
      });
      reclaimed += result.reclaimed;
    }
    return { records: rows.length, reclaimed };
  }

  close(): void {
    this.#db.close();
  }

  /** A checker of the layer blobs of one build's hits (see `get`). */
  hitChecks(): HitChecks {
    return new HitChecks(this.#worker.content, (digest) => this.#forgetLayer(digest));
  }

  /** Drops the records of a layer whose blob is gone: their steps run again. */
  #forgetLayer(digest: string): void {
    this.#db.prepare('DELETE FROM build_cache WHERE layer_digest = ?').run(digest);
  }

  #ensureLease(): Promise<void> {
    this.#lease ??= this.#worker.leases.create({ id: CACHE_LEASE }).then(
      () => undefined,
      (err) => {
        if (err instanceof AlreadyExistsError) return;
        this.#lease = undefined;
        throw err;
      },
    );
    return this.#lease;
  }
}

/** The code of the error `HitChecks.confirm` throws: the build is run again (once) without those records. */
export const STALE_CACHE = 'BUILD_CACHE_STALE';

/**
 * The layer blobs of one build's cache hits, each asked for (`Content.Info`) as the hit is found,
 * without waiting: the answers come while the next steps are looked up, so a fully cached build
 * waits for none of them until `confirm`, which the build calls before it first reads a chain or
 * exports. A blob gone (the store lost it, the cache's lease notwithstanding) drops the records
 * that name it and fails with STALE_CACHE, and the builder solves again: those steps then run.
 */
export class HitChecks {
  readonly #content: Pick<BuildWorker['content'], 'info'>;
  readonly #forget: (digest: string) => void;
  readonly #checks = new Map<string, Promise<boolean>>();

  constructor(content: Pick<BuildWorker['content'], 'info'>, forget: (digest: string) => void) {
    this.#content = content;
    this.#forget = forget;
  }

  check(digest: string): void {
    if (this.#checks.has(digest)) return;
    const present = this.#content.info(digest).then(
      () => true,
      (err) => (err instanceof NotFoundError ? false : Promise.reject(err)),
    );
    present.catch(() => undefined); // awaited by confirm; this only marks it handled meanwhile
    this.#checks.set(digest, present);
  }

  /** Waits for the checks so far; throws STALE_CACHE (after dropping their records) when a blob is gone. */
  async confirm(): Promise<void> {
    const checks = [...this.#checks];
    const missing: string[] = [];
    for (const [digest, present] of checks) if (!(await present)) missing.push(digest);
    if (missing.length === 0) return;
    for (const digest of missing) this.#forget(digest);
    throw new FailedPreconditionError(`The build cache lost the layer ${missing.join(', ')}: its steps run again`, { code: STALE_CACHE });
  }
}
