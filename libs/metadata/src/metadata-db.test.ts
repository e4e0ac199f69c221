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
    expect(METADATA_SCHEMA_VERSION).toBe(5);
    expect(again.prepare('SELECT id FROM images').all()).toEqual([{ id: 'sha256:a' }]);
    again.close();
  });

  it('refuses a tag that points at no image', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-meta-'));
    dirs.push(dir);
    const db = openMetadataDb(join(dir, 'm.db'));
    expect(() => db.prepare(`INSERT INTO image_names VALUES ('busybox','sha256:none','t')`).run()).toThrow(/FOREIGN KEY/);
    db.close();
  });
});
