import type { MetadataDb } from '@berth/metadata';
import { isNoSpace } from '@berth/metadata';
import { ConflictError } from '@berth/errors';
import type { ContainerRecord } from './types.js';
import type { Logger } from '@berth/log';

const FLUSH_EVERY_MS = 1_000;

/**
 * The `containers` table of the metadata database: one row per container, the Docker-shaped
 * record as JSON. The UNIQUE name column is what makes names unique across agent processes.
 *
 * Two kinds of writes. `insert` and `update` are requests (create, rename): on a full disk they
 * throw NO_SPACE and change nothing. `save` and `remove` record facts that already happened (a
 * container exited, was removed): on a full disk they are kept in memory, every read sees them,
 * and they are written as soon as space returns (retried every second), so an exit code is never
 * lost and the agent never stops over it.
 */
export class ContainerStore {
  /** Facts not yet written because the disk was full: the latest record, or null once removed. */
  private readonly pending = new Map<string, ContainerRecord | null>();
  private flushTimer?: NodeJS.Timeout;

  constructor(
    private readonly db: MetadataDb,
    private readonly options: { log?: Logger } = {},
  ) {}

  /** Inserts a new record; ConflictError (Docker's message) when the name is taken; NO_SPACE on a full disk. */
  insert(record: ContainerRecord): void {
    const holder = this.idByName(record.Name);
    if (holder !== undefined) throw nameInUse(record.Name, holder);
    this.db
      .prepare('INSERT INTO containers (id, name, image_id, created, record) VALUES (?, ?, ?, ?, ?)')
      .run(record.Id, record.Name, record.Image, record.Created, JSON.stringify(record));
  }

  /** Writes the record back now (rename goes through here); NO_SPACE on a full disk. */
  update(record: ContainerRecord): void {
    this.write(record);
    this.pending.delete(record.Id);
  }

  /** Records a fact about the container: written now, or kept until the disk has space again. */
  save(record: ContainerRecord): void {
    this.deferOnFullDisk(record.Id, structuredClone(record), () => this.update(record));
  }

  /** Deletes the record: now, or once the disk has space again (reads no longer see it either way). */
  remove(id: string): void {
    this.deferOnFullDisk(id, null, () => this.delete(id));
  }

  get(id: string): ContainerRecord | undefined {
    if (this.pending.has(id)) return copy(this.pending.get(id));
    const row = this.db.prepare('SELECT record FROM containers WHERE id = ?').get(id) as { record: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.record) as ContainerRecord);
  }

  idByName(name: string): string | undefined {
    for (const [id, rec] of this.pending) if (rec?.Name === name) return id;
    const row = this.db.prepare('SELECT id FROM containers WHERE name = ?').get(name) as { id: string } | undefined;
    return row !== undefined && !this.pending.has(row.id) ? row.id : undefined;
  }

  idsByPrefix(prefix: string): string[] {
    const rows = this.db
      .prepare("SELECT id FROM containers WHERE id LIKE ? ESCAPE '\\'")
      .all(`${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`) as Array<{ id: string }>;
    return rows.map((r) => r.id).filter((id) => this.pending.get(id) !== null);
  }

  /** Every record, newest first. */
  all(): ContainerRecord[] {
    const rows = this.db.prepare('SELECT id, record FROM containers ORDER BY created DESC').all() as Array<{ id: string; record: string }>;
    const out: ContainerRecord[] = [];
    for (const r of rows) {
      if (!this.pending.has(r.id)) out.push(JSON.parse(r.record) as ContainerRecord);
      else if (this.pending.get(r.id)) out.push(copy(this.pending.get(r.id))!);
    }
    return out;
  }

  /** Ids of the containers created from an image (for `rmi` to refuse). */
  idsUsingImage(imageId: string): string[] {
    const rows = this.db.prepare('SELECT id FROM containers WHERE image_id = ?').all(imageId) as Array<{ id: string }>;
    return rows.map((r) => r.id).filter((id) => this.pending.get(id) !== null);
  }

  /** Facts still waiting for disk space. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Writes what waits for space; false when the disk is still full. */
  flush(): boolean {
    for (const [id, rec] of [...this.pending]) {
      try {
        if (rec === null) this.delete(id);
        else this.update(rec);
      } catch (err) {
        if (isNoSpace(err)) return false;
        // Anything else would fail the same way on every retry: drop it, say so.
        this.pending.delete(id);
        this.options.log?.warn({ container: id, err }, 'Cannot write the record of the container');
      }
    }
    return this.pending.size === 0;
  }

  /** Stops retrying (what is still pending is lost, as with any crash; init reconciles it). */
  close(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
  }

  private delete(id: string): void {
    this.db.prepare('DELETE FROM containers WHERE id = ?').run(id);
    this.pending.delete(id);
  }

  private write(record: ContainerRecord): void {
    this.db
      .prepare('UPDATE containers SET name = ?, image_id = ?, record = ? WHERE id = ?')
      .run(record.Name, record.Image, JSON.stringify(record), record.Id);
  }

  private deferOnFullDisk(id: string, value: ContainerRecord | null, write: () => void): void {
    if (this.pending.size > 0) {
      // Keep the order of facts: an older pending one must not overwrite this newer one later.
      this.pending.set(id, value);
      this.flush();
      this.scheduleFlush();
      return;
    }
    try {
      write();
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      this.pending.set(id, value);
      this.options.log?.warn({ container: id }, "The data root is full: the container's state is kept in memory until it can be written");
      this.scheduleFlush();
    }
  }

  private scheduleFlush(): void {
    if (this.pending.size === 0) {
      this.close();
      return;
    }
    if (this.flushTimer) return;
    this.flushTimer = setInterval(() => {
      if (this.flush()) {
        this.options.log?.info({}, 'The data root has space again: container states written');
        this.close();
      }
    }, FLUSH_EVERY_MS);
    this.flushTimer.unref();
  }
}

function copy(rec: ContainerRecord | null | undefined): ContainerRecord | undefined {
  return rec ? structuredClone(rec) : undefined;
}

export function nameInUse(name: string, holder: string): ConflictError {
  return new ConflictError(
    `Conflict. The container name "${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
    { code: 'CONTAINER_NAME_IN_USE', detail: { name, id: holder } },
  );
}
