import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import type { Lease, LeaseResource, LeaseResourceType } from './worker.js';
import { silentLogger, type Logger } from '@berth/log';

/**
 * Removes a resource no lease holds any more. `collect` says whether it was removed (false: kept,
 * because it is committed or an image references it) and the bytes freed; `scope` lives for one
 * batch (the resources of one ended lease), so that what the collector reads to decide is read
 * once per batch, never reused from an older one. `release` runs once per ended lease, before its
 * resources are collected (it unmounts what the owner left mounted).
 */
export interface ResourceCollector {
  collect(resource: LeaseResource, scope: CollectScope): Promise<{ collected: boolean; reclaimed: number }>;
  release?(lease: Lease): Promise<void>;
}

/** Whatever a collector keeps for one batch. */
export type CollectScope = Map<string, unknown>;

export interface LeaseManagerOptions {
  /** The SQLite file (e.g. `<data-root>/leases.db`). */
  file: string;
  collector: ResourceCollector;
  /** Where a failed collection is reported (the resource stays listed nowhere; the next sweep of its kind gets it). */
  log?: Logger;
  now?: () => number;
}

interface LeaseRow {
  id: string;
  created_at: number;
  expires_at: number;
  labels: string;
}

const TYPES: readonly LeaseResourceType[] = ['snapshot', 'blob', 'task'];
/** Tasks go first (their rootfs mounts hold snapshots), blobs last. */
const COLLECT_ORDER: Record<LeaseResourceType, number> = { task: 0, snapshot: 1, blob: 2 };
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * The leases of one host, in their own SQLite database:
 *
 *   leases           (id, created_at, expires_at (unix ms, 0 = never), labels JSON)
 *   lease_resources  (lease_id → leases ON DELETE CASCADE, type, id)
 *
 * A lease ends when it is deleted or, past its expiry, at the next `collectExpired` (the agent
 * sweeps every second). Ending it removes its rows first (one transaction), then hands each
 * resource that no other lease holds to the collector: a crash in between leaves a resource held
 * by nothing, which the next end of a lease holding it, or the host's own sweeps, remove.
 */
export class LeaseManager {
  readonly #db: Database.Database;
  readonly #collector: ResourceCollector;
  readonly #log: Logger;
  readonly #now: () => number;
  #sweeper?: NodeJS.Timeout;
  #sweeping?: Promise<unknown>;

  constructor(options: LeaseManagerOptions) {
    mkdirSync(dirname(options.file), { recursive: true });
    this.#db = new Database(options.file, { timeout: 10_000 });
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS leases (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        labels TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS lease_resources (
        lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        PRIMARY KEY (lease_id, type, id)
      );
      CREATE INDEX IF NOT EXISTS lease_resources_by_resource ON lease_resources(type, id);`);
    this.#collector = options.collector;
    this.#log = options.log ?? silentLogger;
    this.#now = options.now ?? Date.now;
  }

  async create(options: { id?: string; ttlMs?: number; labels?: Record<string, string> } = {}): Promise<Lease> {
    const id = options.id || `lease-${randomBytes(8).toString('hex')}`;
    if (!ID_PATTERN.test(id)) throw new InvalidArgumentError(`Invalid lease id "${id}": expected letters, digits, "_", "." or "-"`);
    const ttl = checkTtl(options.ttlMs ?? 0);
    const now = this.#now();
    const labels = options.labels ?? {};
    const inserted = this.#db
      .prepare('INSERT OR IGNORE INTO leases (id, created_at, expires_at, labels) VALUES (?, ?, ?, ?)')
      .run(id, now, ttl === 0 ? 0 : now + ttl, JSON.stringify(labels));
    if (inserted.changes === 0) throw new AlreadyExistsError(`Lease "${id}" already exists`);
    return this.get(id);
  }

  async renew(id: string, ttlMs: number): Promise<Lease> {
    const ttl = checkTtl(ttlMs);
    const now = this.#now();
    // An expired lease is not revived even if the sweep has not collected it yet.
    const updated = this.#db
      .prepare('UPDATE leases SET expires_at = ? WHERE id = ? AND (expires_at = 0 OR expires_at > ?)')
      .run(ttl === 0 ? 0 : now + ttl, id, now);
    if (updated.changes === 0) throw notFound(id);
    return this.get(id);
  }

  get(id: string): Lease {
    const row = this.#db.prepare('SELECT * FROM leases WHERE id = ?').get(id) as LeaseRow | undefined;
    if (!row) throw notFound(id);
    return this.#lease(row);
  }

  async list(): Promise<Lease[]> {
    return (this.#db.prepare('SELECT * FROM leases ORDER BY created_at, id').all() as LeaseRow[]).map((r) => this.#lease(r));
  }

  async addResource(id: string, resource: LeaseResource): Promise<void> {
    checkResource(resource);
    const now = this.#now();
    const live = this.#db.prepare('SELECT 1 FROM leases WHERE id = ? AND (expires_at = 0 OR expires_at > ?)').get(id, now);
    if (!live) throw notFound(id);
    this.#db.prepare('INSERT OR IGNORE INTO lease_resources (lease_id, type, id) VALUES (?, ?, ?)').run(id, resource.type, resource.id);
  }

  async removeResource(id: string, resource: LeaseResource): Promise<{ collected: boolean; reclaimed: number }> {
    checkResource(resource);
    this.get(id);
    this.#db.prepare('DELETE FROM lease_resources WHERE lease_id = ? AND type = ? AND id = ?').run(id, resource.type, resource.id);
    if (this.holds(resource)) return { collected: false, reclaimed: 0 };
    return this.#collector.collect(resource, new Map());
  }

  /**
   * Whether a lease holds the resource. The host's own removals leave such resources alone: the
   * image store's `rmi` and `prune` (its `held` option), the sweeps at agent start.
   */
  holds(resource: LeaseResource): boolean {
    return this.#db.prepare('SELECT 1 FROM lease_resources WHERE type = ? AND id = ?').get(resource.type, resource.id) !== undefined;
  }

  /** The ids of the live leases that hold the resource. */
  holders(resource: LeaseResource): string[] {
    const rows = this.#db
      .prepare(
        'SELECT l.id FROM lease_resources r JOIN leases l ON l.id = r.lease_id WHERE r.type = ? AND r.id = ? AND (l.expires_at = 0 OR l.expires_at > ?) ORDER BY l.id',
      )
      .all(resource.type, resource.id, this.#now()) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  /** Ends the lease: its rows go, then what nothing else holds is collected. NotFoundError. */
  async delete(id: string): Promise<void> {
    const lease = this.get(id);
    if (!this.#remove(id)) throw notFound(id);
    await this.#end(lease);
  }

  /** Ends every lease past its expiry; returns their ids. */
  async collectExpired(): Promise<string[]> {
    const rows = this.#db.prepare('SELECT * FROM leases WHERE expires_at != 0 AND expires_at <= ?').all(this.#now()) as LeaseRow[];
    const ended: string[] = [];
    for (const row of rows) {
      const lease = this.#lease(row);
      if (!this.#remove(row.id)) continue; // ended meanwhile by a delete
      ended.push(row.id);
      await this.#end(lease);
    }
    return ended;
  }

  /** Runs `collectExpired` now and every `intervalMs` until `close`. */
  startSweeper(intervalMs: number): void {
    const sweep = () => {
      this.#sweeping ??= this.collectExpired()
        .catch((err) => this.#log.warn({ err }, 'Cannot collect expired leases'))
        .finally(() => (this.#sweeping = undefined));
    };
    sweep();
    this.#sweeper = setInterval(sweep, intervalMs);
    this.#sweeper.unref();
  }

  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    await this.#sweeping;
    this.#db.close();
  }

  #remove(id: string): boolean {
    return this.#db.prepare('DELETE FROM leases WHERE id = ?').run(id).changes === 1;
  }

  async #end(lease: Lease): Promise<void> {
    const resources = [...lease.resources].sort((a, b) => COLLECT_ORDER[a.type] - COLLECT_ORDER[b.type]);
    const tasks = resources.filter((r) => r.type === 'task');
    const rest = resources.filter((r) => r.type !== 'task');
    const scope: CollectScope = new Map();
    const collect = async (r: LeaseResource) => {
      if (this.holds(r)) return;
      try {
        await this.#collector.collect(r, scope);
      } catch (err) {
        this.#log.warn({ lease: lease.id, [r.type]: r.id, err }, 'Cannot collect a resource of an ended lease');
      }
    };
    for (const r of tasks) await collect(r);
    try {
      await this.#collector.release?.(lease);
    } catch (err) {
      this.#log.warn({ lease: lease.id, err }, 'Cannot release the mounts of an ended lease');
    }
    for (const r of rest) await collect(r);
  }

  #lease(row: LeaseRow): Lease {
    const resources = this.#db.prepare('SELECT type, id FROM lease_resources WHERE lease_id = ? ORDER BY rowid').all(row.id) as LeaseResource[];
    return { id: row.id, createdAt: row.created_at, expiresAt: row.expires_at, labels: JSON.parse(row.labels) as Record<string, string>, resources };
  }
}

function checkTtl(ttl: number): number {
  if (!Number.isSafeInteger(ttl) || ttl < 0) throw new InvalidArgumentError(`Invalid lease TTL ${ttl}: expected milliseconds, 0 for none`);
  return ttl;
}

function checkResource(resource: LeaseResource): void {
  if (!TYPES.includes(resource.type)) {
    throw new InvalidArgumentError(`Invalid lease resource type "${resource.type}": expected snapshot, blob or task`);
  }
  if (!resource.id) throw new InvalidArgumentError(`Invalid lease resource: the ${resource.type} id is empty`);
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(`No such lease: "${id}" (it expired or was deleted)`);
}
