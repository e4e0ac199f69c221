import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FailedPreconditionError } from '@berth/errors';
import { openMetadataDb, type MetadataDb } from './metadata-db.js';
import { isNoSpace, NO_SPACE } from './no-space.js';

let dir: string;
let db: MetadataDb | undefined;

afterEach(() => {
  db?.close();
  db = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A database that is "full" after a few pages (SQLite's max_page_count gives SQLITE_FULL). */
function fullDb(): MetadataDb {
  dir = mkdtempSync(join(tmpdir(), 'berth-nospace-'));
  db = openMetadataDb(join(dir, 'metadata.db'));
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${pages + 1}`);
  return db;
}

describe('a full data root', () => {
  it('turns SQLITE_FULL into NO_SPACE naming the data root, in statements and transactions, and reads go on', () => {
    const full = fullDb();
    const insert = full.prepare('INSERT INTO layer_sizes (diff_id, size) VALUES (?, ?)');
    const big = (i: number) => `sha256:${String(i).padStart(64, '0')}${'x'.repeat(3000)}`;
    let caught: unknown;
    try {
      for (let i = 0; i < 100; i++) insert.run(big(i), i);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FailedPreconditionError);
    expect(caught).toMatchObject({ code: NO_SPACE, message: `No space left on device: the data root "${dir}" is full` });
    expect(isNoSpace(caught)).toBe(true);
    expect(() => full.transaction(() => insert.run(big(1000), 1))()).toThrow(`No space left on device: the data root "${dir}" is full`);
    expect(() => full.transaction(() => insert.run(big(1001), 1)).immediate()).toThrow(/^No space left on device/);
    expect(() => full.exec(`INSERT INTO layer_sizes (diff_id, size) VALUES ('${big(1002)}', 1)`)).toThrow(/^No space left on device/);
    // Reads are untouched, plucked statements too.
    expect(full.prepare('SELECT COUNT(*) FROM layer_sizes').pluck().get()).toBeGreaterThanOrEqual(0);
  });

  it('recognises a full disk in every shape, and nothing else', () => {
    expect(isNoSpace(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }))).toBe(true);
    expect(isNoSpace(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }))).toBe(true);
    expect(isNoSpace(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'EDQUOT' }) }))).toBe(true);
    expect(isNoSpace(Object.assign(new Error('EACCES'), { code: 'EACCES' }))).toBe(false);
    expect(isNoSpace(undefined)).toBe(false);
  });
});
