import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { restrictDbFiles } from '@berth/metadata';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import { MAX_MOUNT_OPTIONS_LENGTH, type Mount, mountPoints, placeInFilesystem } from './mount.js';
import { Trash } from './trash.js';

/**
 * The overlayfs snapshotter: one directory per snapshot, stacked by overlay mounts.
 *
 *   <root>/                          (= <data-root>/snapshots), 0700 like each <id>/ below it
 *   ├── metadata.db                  this snapshotter's own SQLite db (WAL):
 *   │                                  snapshots(id INTEGER PK, key UNIQUE, parent key, kind, created)
 *   ├── 1/                           snapshot id 1 (numeric ids keep lowerdir strings short)
 *   │   ├── fs/                      the upper dir (active) / the unpacked layer (committed)
 *   │   └── work/                    overlay's workdir for the upper dir
 *   ├── 2/ …
 *   └── removed-7/                   a snapshot being deleted (renamed inside the removing
 *                                    transaction, then deleted in the background: trash.ts;
 *                                    leftovers are swept on open). No size counts these.
 *
 * Kinds: `active` (writable upper dir over its parents), `view` (read-only) and `committed`
 * (immutable; the only kind that may be a parent, and it may have many children). Committed layer
 * snapshots are named by OCI chain ID; a container's active snapshot by the container id.
 *
 * Several processes of one host may use the same root at once: every change is one IMMEDIATE
 * SQLite transaction (keys are UNIQUE), and directories are only created, renamed or swept while
 * that write lock is held.
 */
export type SnapshotKind = 'active' | 'view' | 'committed';

export interface SnapshotInfo {
  key: string;
  /** Key of the parent (always a committed snapshot). */
  parent?: string;
  kind: SnapshotKind;
  /** ISO 8601. */
  created: string;
}

export interface SnapshotUsage {
  /** Bytes on disk used by the snapshot's own directory (hardlinks counted once). */
  size: number;
  inodes: number;
}

interface Row {
  id: number;
  key: string;
  parent: string | null;
  kind: SnapshotKind;
  created: string;
}

const migrations = [
  `CREATE TABLE snapshots (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     key TEXT NOT NULL UNIQUE,
     parent TEXT REFERENCES snapshots(key),
     kind TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
     created TEXT NOT NULL
   );
   CREATE INDEX snapshots_by_parent ON snapshots(parent);`,
];

const REMOVED_PREFIX = 'removed-';

export class OverlaySnapshotter {
  private readonly db: Database.Database;
  /** Removed snapshots' dirs being deleted in the background. */
  private readonly trash = new Trash();

  /**
   * Opens (creating if needed) the snapshotter at `root`, then sweeps what crashed operations left:
   * `removed-*` dirs whose row is gone are deleted (or renamed back when the removing transaction
   * never committed), and snapshot dirs with no row are deleted.
   */
  constructor(readonly root: string) {
    // Closed to other users, as Docker's layer dirs (0700): an unpacked layer may hold setuid binaries.
    mkdirSync(root, { recursive: true, mode: 0o700 });
    restrictDbFiles(join(root, 'metadata.db'));
    this.db = new Database(join(root, 'metadata.db'), { timeout: 30_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    // Only a schema change writes: opening an up-to-date store must work on a full disk.
    if ((this.db.pragma('user_version', { simple: true }) as number) < migrations.length) {
      this.db
        .transaction(() => {
          const version = this.db.pragma('user_version', { simple: true }) as number;
          for (const [i, sql] of migrations.entries()) if (i >= version) this.db.exec(sql);
          this.db.pragma(`user_version = ${migrations.length}`);
        })
        .immediate();
    }
    this.sweep();
  }

  /** Closes the database. The snapshotter must not be used afterwards. */
  close(): void {
    this.db.close();
  }

  /**
   * Resolves once the dirs of the snapshots removed so far (and of what the sweep on open found)
   * are deleted from disk: `remove` answers as soon as the snapshot is gone from the database and
   * its dir renamed to `removed-<id>`, and deletes the dir in the background.
   */
  settled(): Promise<void> {
    return this.trash.settled();
  }

  /**
   * Creates an active snapshot `key` on top of the committed snapshot `parent` (or empty) and
   * returns the mounts for its writable root. AlreadyExistsError when `key` exists, NotFoundError
   * when `parent` does not, FailedPreconditionError when `parent` is not committed.
   */
  async prepare(key: string, parent?: string): Promise<Mount[]> {
    this.create(key, 'active', parent);
    return this.mounts(key);
  }

  /** Like prepare, but a read-only view of `parent` (or of an empty directory). */
  async view(key: string, parent?: string): Promise<Mount[]> {
    this.create(key, 'view', parent);
    return this.mounts(key);
  }

  /**
   * The mounts that make up `key`'s root: for an active snapshot a rw bind of its dir (no parent)
   * or an overlay (lowers = its parents, upper = its dir); for a view or a committed snapshot a
   * read-only bind (one layer) or a lowers-only overlay. When absolute lowerdir paths would
   * exceed the kernel's one-page limit, they are given relative to `cwd` = the root.
   */
  async mounts(key: string): Promise<Mount[]> {
    const row = this.row(key);
    const parents = this.chain(row).slice(1);
    if (row.kind === 'active') {
      if (parents.length === 0) return [{ type: 'bind', source: this.fsDir(row.id), options: ['rbind', 'rw'] }];
      return [this.overlay(parents.map((p) => p.id), ['upperdir=' + this.fsDir(row.id), 'workdir=' + this.workDir(row.id)])];
    }
    const layers = row.kind === 'committed' ? [row, ...parents] : parents;
    if (layers.length === 0) return [{ type: 'bind', source: this.fsDir(row.id), options: ['rbind', 'ro'] }];
    // Overlay needs an upper dir or at least two lowers: one layer is a plain read-only bind.
    if (layers.length === 1) return [{ type: 'bind', source: this.fsDir(layers[0].id), options: ['rbind', 'ro'] }];
    return [this.overlay(layers.map((l) => l.id), ['ro'])];
  }

  /**
   * Turns the active snapshot `key` into the committed snapshot `name` (same directory: nothing
   * is copied). NotFoundError if `key` does not exist, FailedPreconditionError if it is not
   * active, AlreadyExistsError if `name` exists. Unmount it first: a committed snapshot must not
   * change.
   */
  async commit(name: string, key: string): Promise<void> {
    this.db
      .transaction(() => {
        const row = this.row(key);
        if (row.kind !== 'active') {
          throw new FailedPreconditionError(`Cannot commit snapshot "${key}": it is ${row.kind}, not active`);
        }
        if (this.find(name)) throw new AlreadyExistsError(`Snapshot "${name}" already exists`);
        this.db.prepare(`UPDATE snapshots SET key = ?, kind = 'committed' WHERE id = ?`).run(name, row.id);
      })
      .immediate();
  }

  /**
   * Deletes snapshot `key` and its directory. NotFoundError if it does not exist;
   * FailedPreconditionError if other snapshots are based on it or something is mounted from or in
   * its directory. Crash safe: the directory is renamed to `removed-<id>` in the same transaction
   * that deletes the row, and deleted in the background after it answers (see `settled`); a
   * process killed before that is done leaves `removed-<id>`, which the next open sweeps.
   */
  async remove(key: string): Promise<void> {
    const row = this.row(key);
    const children = this.db.prepare('SELECT key FROM snapshots WHERE parent = ? ORDER BY id').pluck().all(key) as string[];
    if (children.length > 0) {
      throw new FailedPreconditionError(
        `Cannot remove snapshot "${key}": ${children.length} snapshot(s) depend on it (${children.map((c) => `"${c}"`).join(', ')})`,
      );
    }
    const dir = join(this.root, String(row.id));
    const real = join(await realpath(this.root), String(row.id)); // mountinfo has no symlinks
    // Mounted on, bind-mounted elsewhere (mountinfo gives the source as the filesystem's device
    // and a path inside that filesystem), or the upper dir of an overlay.
    const mounts = await mountPoints();
    const place = placeInFilesystem(mounts, real);
    const inUse = mounts.find(
      (m) =>
        m.target === real ||
        m.target.startsWith(`${real}/`) ||
        (place !== undefined && m.device === place.device && (m.root === place.path || m.root.startsWith(`${place.path}/`))) ||
        m.superOptions.split(',').some((o) => /^(upperdir|workdir)=/.test(o) && o.slice(o.indexOf('=') + 1).startsWith(`${real}/`)),
    );
    if (inUse) {
      throw new FailedPreconditionError(`Cannot remove snapshot "${key}": it is still mounted on "${inUse.target}", unmount it first`);
    }
    const removed = join(this.root, `${REMOVED_PREFIX}${row.id}`);
    this.db
      .transaction(() => {
        const current = this.row(key); // another process may have removed it meanwhile
        if (this.db.prepare('SELECT 1 FROM snapshots WHERE parent = ?').get(key)) {
          throw new FailedPreconditionError(`Cannot remove snapshot "${key}": a snapshot was just based on it`);
        }
        this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(current.id);
        // Last: if the commit throws after this, the sweep on next open renames it back.
        if (existsSync(dir)) renameSync(dir, removed);
      })
      .immediate();
    this.trash.discard(removed);
  }

  /** The snapshot's record. NotFoundError if it does not exist. */
  async stat(key: string): Promise<SnapshotInfo> {
    return toInfo(this.row(key));
  }

  async exists(key: string): Promise<boolean> {
    return this.find(key) !== undefined;
  }

  /** Every snapshot, oldest first. */
  async list(): Promise<SnapshotInfo[]> {
    return (this.db.prepare('SELECT * FROM snapshots ORDER BY id').all() as Row[]).map(toInfo);
  }

  /** The snapshot's own directory: where a layer is unpacked, or a container's changes land. */
  upperDir(key: string): string {
    return this.fsDir(this.row(key).id);
  }

  /** The directories of `key`'s parents, top-most first (overlay lowerdir order). */
  lowerDirs(key: string): string[] {
    return this.chain(this.row(key))
      .slice(1)
      .map((r) => this.fsDir(r.id));
  }

  /** Disk usage of the snapshot's own directory (not its parents'). */
  async usage(key: string): Promise<SnapshotUsage> {
    const seen = new Set<number>();
    const usage: SnapshotUsage = { size: 0, inodes: 0 };
    const walk = async (path: string): Promise<void> => {
      const st = await lstat(path);
      if (!seen.has(st.ino)) {
        seen.add(st.ino);
        usage.inodes++;
        usage.size += st.blocks * 512;
      }
      if (st.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
    };
    await walk(this.upperDir(key));
    return usage;
  }

  private fsDir(id: number): string {
    return join(this.root, String(id), 'fs');
  }

  private workDir(id: number): string {
    return join(this.root, String(id), 'work');
  }

  private overlay(lowerIds: number[], extra: string[]): Mount {
    const absolute = `lowerdir=${lowerIds.map((id) => this.fsDir(id)).join(':')}`;
    if ([absolute, ...extra].join(',').length <= MAX_MOUNT_OPTIONS_LENGTH) {
      return { type: 'overlay', source: 'overlay', options: [absolute, ...extra] };
    }
    const relative = `lowerdir=${lowerIds.map((id) => `${id}/fs`).join(':')}`;
    return { type: 'overlay', source: 'overlay', options: [relative, ...extra], cwd: this.root };
  }

  private find(key: string): Row | undefined {
    return this.db.prepare('SELECT * FROM snapshots WHERE key = ?').get(key) as Row | undefined;
  }

  private row(key: string): Row {
    const row = this.find(key);
    if (!row) throw new NotFoundError(`Snapshot "${key}" does not exist`);
    return row;
  }

  /** `row` followed by its ancestors, nearest first. */
  private chain(row: Row): Row[] {
    return this.db
      .prepare(
        `WITH RECURSIVE chain(id, key, parent, kind, created, depth) AS (
           SELECT id, key, parent, kind, created, 0 FROM snapshots WHERE id = ?
           UNION ALL
           SELECT s.id, s.key, s.parent, s.kind, s.created, c.depth + 1 FROM snapshots s JOIN chain c ON s.key = c.parent
         ) SELECT id, key, parent, kind, created FROM chain ORDER BY depth`,
      )
      .all(row.id) as Row[];
  }

  private create(key: string, kind: 'active' | 'view', parent?: string): void {
    if (key === '') throw new InvalidArgumentError('Cannot create a snapshot with an empty key');
    this.db
      .transaction(() => {
        if (this.find(key)) throw new AlreadyExistsError(`Snapshot "${key}" already exists`);
        if (parent !== undefined) {
          const parentRow = this.find(parent);
          if (!parentRow) throw new NotFoundError(`Parent snapshot "${parent}" does not exist`);
          if (parentRow.kind !== 'committed') {
            throw new FailedPreconditionError(`Cannot use snapshot "${parent}" as a parent: it is ${parentRow.kind}, not committed`);
          }
        }
        const { lastInsertRowid } = this.db
          .prepare('INSERT INTO snapshots (key, parent, kind, created) VALUES (?, ?, ?, ?)')
          .run(key, parent ?? null, kind, new Date().toISOString());
        const dir = join(this.root, String(lastInsertRowid));
        rmSync(dir, { recursive: true, force: true }); // a leftover of a transaction that never committed
        mkdirSync(dir, { mode: 0o700 });
        mkdirSync(join(dir, 'fs'));
        mkdirSync(join(dir, 'work'));
        chmodSync(join(dir, 'fs'), 0o755); // the root directory of whatever mounts it
      })
      .immediate();
  }

  private sweep(): void {
    const doomed: string[] = [];
    this.db
      .transaction(() => {
        const ids = new Set((this.db.prepare('SELECT id FROM snapshots').pluck().all() as number[]).map(String));
        for (const name of readdirSync(this.root)) {
          if (/^\d+$/.test(name) && !ids.has(name)) {
            renameSync(join(this.root, name), join(this.root, `${REMOVED_PREFIX}orphan-${name}`));
            doomed.push(`${REMOVED_PREFIX}orphan-${name}`);
          } else if (name.startsWith(REMOVED_PREFIX)) {
            const id = name.slice(REMOVED_PREFIX.length);
            if (ids.has(id) && !existsSync(join(this.root, id))) renameSync(join(this.root, name), join(this.root, id));
            else doomed.push(name);
          }
        }
      })
      .immediate();
    // In the background too: an agent killed in the middle of many removals must not start slowly.
    for (const name of doomed) this.trash.discard(join(this.root, name));
  }
}

function toInfo(row: Row): SnapshotInfo {
  return { key: row.key, ...(row.parent === null ? {} : { parent: row.parent }), kind: row.kind, created: row.created };
}

