import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { guardFullDisk } from './no-space.js';

/**
 * The per-host metadata database: `<data-root>/metadata.db` (SQLite, WAL), shared by the image
 * store, the container store and (later) volumes and networks. Blobs never live here: the content
 * store holds them by digest; this file holds names and records that point at digests.
 *
 *   images        one row per image, id = config digest ("sha256:…")
 *   image_names   one row per tag or digest reference ("docker.io/library/busybox:latest")
 *   containers    one row per container; the Docker-shaped record is JSON in `record`
 *   layer_sizes   uncompressed size per layer diffID
 *   volumes       one row per volume (libs/volumes)
 *   networks, endpoints, sandboxes   networks and container attachments (libs/network)
 *
 * Migrations are append-only: a new version adds statements, never edits an old one (v4's only
 * table was dropped again, so its statement became a no-op).
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
  // Volumes (libs/volumes): one row per named or anonymous volume; labels and options are JSON.
  `CREATE TABLE volumes (
     name TEXT PRIMARY KEY,
     driver TEXT NOT NULL,
     created TEXT NOT NULL,
     labels TEXT NOT NULL,
     options TEXT NOT NULL,
     anonymous INTEGER NOT NULL
   );`,
  // v4 made a build cache table here; the builder (its own service since) keeps its cache in its
  // own database (libs/build BuildCache), and v6 drops the table from databases that have it.
  `SELECT 1;`,
  // Networks (libs/network): networks, container endpoints (the address held while running,
  // unique per network) and each container's network settings (sandbox); records are JSON.
  `CREATE TABLE networks (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     created TEXT NOT NULL,
     record TEXT NOT NULL
   );
   CREATE TABLE endpoints (
     network_id TEXT NOT NULL REFERENCES networks(id),
     container_id TEXT NOT NULL,
     ip TEXT,
     record TEXT NOT NULL,
     PRIMARY KEY (network_id, container_id),
     UNIQUE (network_id, ip)
   );
   CREATE INDEX endpoints_by_container ON endpoints(container_id);
   CREATE TABLE sandboxes (
     container_id TEXT PRIMARY KEY,
     record TEXT NOT NULL
   );`,
  `DROP TABLE IF EXISTS build_cache;`,
];

/** The schema version a freshly opened database has. */
export const METADATA_SCHEMA_VERSION = migrations.length;

/**
 * Opens (creating if needed) the metadata database and brings its schema up to date. The file and
 * its -wal and -shm companions are 0600: records hold containers' environments (`-e` secrets).
 */
export function openMetadataDb(file: string): MetadataDb {
  mkdirSync(dirname(file), { recursive: true });
  restrictDbFiles(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  // A full disk is an error every caller understands (NO_SPACE), not a raw SQLITE_FULL.
  return guardFullDisk(db, dirname(file));
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

/**
 * Makes the database file (created empty when absent) and its WAL companions 0600. SQLite creates
 * -wal and -shm with the mode of the database file, so new ones follow; older ones are fixed here.
 */
export function restrictDbFiles(file: string): void {
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(f)) chmodSync(f, 0o600);
  }
}
