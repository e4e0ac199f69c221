import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMetadataDb, type MetadataDb } from '@berth/metadata';
import { memoryLogger } from '@berth/testing';
import { ContainerStore } from './container-store.js';
import { testRecord } from './test-support.js';
import type { ContainerRecord } from './types.js';

let dir: string;
let db: MetadataDb;
let store: ContainerStore;
const logged = memoryLogger();

function record(id: string, name: string): ContainerRecord {
  return testRecord(id, { Name: name, Created: new Date().toISOString(), BundleDir: `/x/${id}` });
}

/** SQLite refuses to grow the file past its current size: SQLITE_FULL, as on a full disk. */
const fillDisk = () => db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
const freeDisk = () => db.pragma('max_page_count = 1073741823');
const bigLabel = () => ({ big: 'x'.repeat(64 * 1024) });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-store-'));
  db = openMetadataDb(join(dir, 'metadata.db'));
  store = new ContainerStore(db, { log: logged });
  logged.events.length = 0;
});

afterEach(() => {
  store.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ContainerStore on a full disk', () => {
  it('refuses requests (insert, update) with NO_SPACE and changes nothing', () => {
    store.insert(record('a'.repeat(64), '/keep'));
    fillDisk();
    const big = record('b'.repeat(64), '/new');
    big.Config = { Labels: bigLabel() } as unknown as ContainerRecord['Config'];
    expect(() => store.insert(big)).toThrow(`No space left on device: the data root "${dir}" is full`);
    const renamed = { ...record('a'.repeat(64), '/renamed'), Config: big.Config };
    expect(() => store.update(renamed)).toThrow(/^No space left on device/);
    expect(store.all().map((r) => r.Name)).toEqual(['/keep']);
    expect(store.pendingCount).toBe(0);
  });

  it('keeps facts (save, remove) in memory, serves them to reads, and writes them once space returns', () => {
    const a = record('a'.repeat(64), '/exited');
    const b = record('b'.repeat(64), '/removed');
    store.insert(a);
    store.insert(b);
    fillDisk();
    a.State = { ...a.State, Status: 'exited', ExitCode: 3, StartedAt: '2024-01-01T00:00:00Z', FinishedAt: '2024-01-01T00:00:01Z' };
    a.Config = { Labels: bigLabel() } as unknown as ContainerRecord['Config'];
    store.save(a);
    store.remove(b.Id);
    expect(store.pendingCount).toBe(2);
    expect(logged.events[0]).toEqual({ level: 'warn', msg: "The data root is full: the container's state is kept in memory until it can be written", fields: { container: a.Id } });
    expect(store.get(a.Id)?.State.ExitCode).toBe(3);
    expect(store.get(b.Id)).toBeUndefined();
    expect(store.idByName('/removed')).toBeUndefined();
    expect(store.all().map((r) => [r.Name, r.State.ExitCode])).toEqual([['/exited', 3]]);
    expect(store.flush()).toBe(false);

    freeDisk();
    expect(store.flush()).toBe(true);
    const reopened = new ContainerStore(db);
    expect(reopened.get(a.Id)?.State.ExitCode).toBe(3);
    expect(reopened.get(b.Id)).toBeUndefined();
  });
});
