import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { METADATA_SCHEMA_VERSION, openMetadataDb } from './index.js';

describe('openMetadataDb', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('creates the schema once and reopens without migrating again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-meta-'));
    dirs.push(dir);
    const file = join(dir, 'nested', 'metadata.db');
    const db = openMetadataDb(file);
    db.prepare(`INSERT INTO images VALUES ('sha256:a','sha256:m','x','2026-01-01',1,NULL,'2026-01-01')`).run();
    db.close();
    const again = openMetadataDb(file);
    expect(again.pragma('user_version', { simple: true })).toBe(METADATA_SCHEMA_VERSION);
    expect(METADATA_SCHEMA_VERSION).toBe(6);
    // The build cache lives in the builder's own database (libs/build), not here.
    expect(again.prepare(`SELECT name FROM sqlite_master WHERE name = 'build_cache'`).all()).toEqual([]);
    expect(again.prepare('SELECT id FROM images').all()).toEqual([{ id: 'sha256:a' }]);
    again.close();
  });

  it('drops the build cache table of a database made before the builder had its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-meta-'));
    dirs.push(dir);
    const file = join(dir, 'm.db');
    const old = openMetadataDb(file);
    old.exec('CREATE TABLE build_cache (key TEXT PRIMARY KEY)');
    old.pragma('user_version = 5');
    old.close();
    const db = openMetadataDb(file);
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'build_cache'`).all()).toEqual([]);
    expect(db.pragma('user_version', { simple: true })).toBe(METADATA_SCHEMA_VERSION);
    db.close();
  });

  it('refuses a tag that points at no image', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-meta-'));
    dirs.push(dir);
    const db = openMetadataDb(join(dir, 'm.db'));
    expect(() => db.prepare(`INSERT INTO image_names VALUES ('busybox','sha256:none','t')`).run()).toThrow(/FOREIGN KEY/);
    db.close();
  });
});
