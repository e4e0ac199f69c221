import type { MetadataDb } from '@berth/metadata';
import { ConflictError } from '@berth/errors';
import type { ContainerRecord } from './types.js';

/**
 * The `containers` table of the metadata database: one row per container, the Docker-shaped
 * record as JSON. The UNIQUE name column is what makes names unique across agent processes.
 */
export class ContainerStore {
  constructor(private readonly db: MetadataDb) {}

  /** Inserts a new record; ConflictError (Docker's message) when the name is taken. */
  insert(record: ContainerRecord): void {
    const holder = this.idByName(record.Name);
    if (holder !== undefined) throw nameInUse(record.Name, holder);
    this.db
      .prepare('INSERT INTO containers (id, name, image_id, created, record) VALUES (?, ?, ?, ?, ?)')
      .run(record.Id, record.Name, record.Image, record.Created, JSON.stringify(record));
  }

  /** Writes the record back (name included: rename goes through here). */
  update(record: ContainerRecord): void {
    this.db
      .prepare('UPDATE containers SET name = ?, image_id = ?, record = ? WHERE id = ?')
      .run(record.Name, record.Image, JSON.stringify(record), record.Id);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM containers WHERE id = ?').run(id);
  }

  get(id: string): ContainerRecord | undefined {
    const row = this.db.prepare('SELECT record FROM containers WHERE id = ?').get(id) as { record: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.record) as ContainerRecord);
  }

  idByName(name: string): string | undefined {
    const row = this.db.prepare('SELECT id FROM containers WHERE name = ?').get(name) as { id: string } | undefined;
    return row?.id;
  }

  idsByPrefix(prefix: string): string[] {
    const rows = this.db
      .prepare("SELECT id FROM containers WHERE id LIKE ? ESCAPE '\\'")
      .all(`${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  all(): ContainerRecord[] {
    const rows = this.db.prepare('SELECT record FROM containers ORDER BY created DESC').all() as Array<{ record: string }>;
    return rows.map((r) => JSON.parse(r.record) as ContainerRecord);
  }

  /** Ids of the containers created from an image (for `rmi` to refuse). */
  idsUsingImage(imageId: string): string[] {
    const rows = this.db.prepare('SELECT id FROM containers WHERE image_id = ?').all(imageId) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }
}

export function nameInUse(name: string, holder: string): ConflictError {
  return new ConflictError(
    `Conflict. The container name "${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
    { code: 'CONTAINER_NAME_IN_USE', detail: { name, id: holder } },
  );
}
