import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The per-host metadata database: `<data-root>/metadata.db` (SQLite, WAL), shared by the image
 * store, the container store and (later) volumes and networks. Blobs never live here: the content
 * store holds them by digest; this file holds names and records that point at digests.
 *
 *   images        one row per image, id = config digest ("sha256:…")
 *   image_names   one row per tag or digest reference ("docker.io/library/busybox:latest")
 *   containers    one row per container; the Docker-shaped record is JSON in `record`
 *   layer_sizes   uncompressed size per layer diffID
 *
 * Migrations are append-only: a new version adds statements, never edits an old one.
 */
export type MetadataDb = Database.Database;

const migrations: string[] = [
  `CREATE TABLE images (
     id TEXT PRIMARY KEY,
     manifest_digest TEXT NOT NULL,
     manifest_media_type TEXT NOT NULL,
     created TEXT NOT NULL,
     size INTEGER NOT NULL,
     parent TEXT,
     added TEXT NOT NULL
   );
   CREATE TABLE image_names (
     name TEXT PRIMARY KEY,
     image_id TEXT NOT NULL REFERENCES images(id),
     added TEXT NOT NULL
   );
   CREATE INDEX image_names_by_image ON image_names(image_id);
   CREATE TABLE containers (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     image_id TEXT NOT NULL,
     created TEXT NOT NULL,
     record TEXT NOT NULL
   );
   CREATE INDEX containers_by_image ON containers(image_id);`,
  // Uncompressed size of each layer (by diffID), for `history`, `images` and `system df`.
  `CREATE TABLE layer_sizes (
     diff_id TEXT PRIMARY KEY,
     size INTEGER NOT NULL
   );`,
];

/** The schema version a freshly opened database has. */
export const METADATA_SCHEMA_VERSION = migrations.length;

/** Opens (creating if needed) the metadata database and brings its schema up to date. */
export function openMetadataDb(file: string): MetadataDb {
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: MetadataDb): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let version = current; version < migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
