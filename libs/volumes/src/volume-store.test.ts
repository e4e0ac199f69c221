import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@berth/errors';
import { openMetadataDb, type MetadataDb } from '@berth/metadata';
import { mountPoints, unmount } from '@berth/snapshots';
import { ANONYMOUS_LABEL, VolumeStore, type VolumeEvent } from './index.js';

let dataRoot: string;
let db: MetadataDb;
let users: Map<string, string[]>;
let events: VolumeEvent[];
let store: VolumeStore;

beforeEach(async () => {
  dataRoot = await mkdtemp(join(tmpdir(), 'berth-volumes-'));
  db = openMetadataDb(join(dataRoot, 'metadata.db'));
  users = new Map();
  events = [];
  store = new VolumeStore({ dataRoot, db, usedBy: (name) => users.get(name) ?? [], onEvent: (e) => events.push(e) });
});

afterEach(async () => {
  for (const m of (await mountPoints()).filter((m) => m.target.startsWith(dataRoot)).reverse()) await unmount(m.target).catch(() => {});
  db.close();
  await rm(dataRoot, { recursive: true, force: true });
});

describe('VolumeStore', () => {
  it('creates a named volume with a data directory under the data root, and inspects it like Docker', async () => {
    const v = await store.create('data', { labels: { team: 'a' } });
    expect(v).toEqual({
      CreatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      Driver: 'local',
      Labels: { team: 'a' },
      Mountpoint: join(dataRoot, 'volumes', 'data', '_data'),
      Name: 'data',
      Options: null,
      Scope: 'local',
    });
    expect((await stat(v.Mountpoint)).isDirectory()).toBe(true);
    expect(store.inspect('data')).toEqual(v);
    expect(events).toEqual([{ action: 'create', name: 'data', attributes: { driver: 'local' } }]);
    // Creating it again answers the existing volume.
    expect(await store.create('data', { labels: { other: 'b' } })).toEqual(v);
  });

  it('gives an unnamed volume a random 64-hex name; anonymous ones carry Docker\'s label', async () => {
    const v = await store.create(undefined);
    expect(v.Name).toMatch(/^[0-9a-f]{64}$/);
    const anon = await store.create(undefined, { anonymous: true });
    expect(anon.Labels).toEqual({ [ANONYMOUS_LABEL]: '' });
    expect(store.isAnonymous(anon.Name)).toBe(true);
    expect(store.isAnonymous(v.Name)).toBe(false);
  });

  it('refuses bad names, drivers and options with Docker\'s messages', async () => {
    await expect(store.create('a')).rejects.toThrow('volume name is too short, names should be at least two alphanumeric characters');
    await expect(store.create('bad/name')).rejects.toThrow(
      '"bad/name" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path',
    );
    // A name too long for a directory: a clear refusal, not mkdir's ENAMETOOLONG with our path in it.
    const tooLong = await store.create('v'.repeat(256)).catch((err: unknown) => err);
    expect(tooLong).toBeInstanceOf(InvalidArgumentError);
    expect((tooLong as Error).message).toBe(`volume name "${'v'.repeat(40)}…" is too long: 256 characters, the maximum is 255`);
    expect(store.list({}).map((v) => v.Name)).toEqual([]);
    expect((await store.create('v'.repeat(255))).Name).toBe('v'.repeat(255));
    await expect(store.create('x1', { driver: 'nfs' })).rejects.toThrow('error looking up volume plugin nfs');
    await expect(store.create('x1', { driverOpts: { foo: 'bar' } })).rejects.toThrow('invalid option key: "foo"');
    await expect(store.create('x1', { driverOpts: { type: 'tmpfs' } })).rejects.toThrow('missing required option: "device"');
    expect(existsSync(join(dataRoot, 'volumes', 'x1'))).toBe(false);
    expect(() => store.inspect('nosuch')).toThrow('get nosuch: no such volume');
  });

  it('lists with the dangling, name and label filters', async () => {
    await store.create('web-data', { labels: { app: 'web', tier: 'front' } });
    await store.create('db-data', { labels: { app: 'db' } });
    await store.create('cache');
    users.set('db-data', ['c1']);
    const names = (filters: Record<string, string[]>) => store.list({ filters }).map((v) => v.Name);
    expect(names({})).toEqual(['cache', 'db-data', 'web-data']);
    expect(names({ dangling: ['true'] })).toEqual(['cache', 'web-data']);
    expect(names({ dangling: ['false'] })).toEqual(['db-data']);
    expect(names({ name: ['data'] })).toEqual(['db-data', 'web-data']);
    expect(names({ label: ['app'] })).toEqual(['db-data', 'web-data']);
    expect(names({ label: ['app=web'] })).toEqual(['web-data']);
    expect(names({ label: ['app', 'tier=front'] })).toEqual(['web-data']);
    expect(() => names({ color: ['red'] })).toThrow("invalid filter 'color'");
    expect(() => names({ dangling: ['maybe'] })).toThrow("invalid filter 'dangling=[maybe]'");
    // Docker's rules: name is a regular expression, driver exact, several names are alternatives
    expect(names({ name: ['^web'] })).toEqual(['web-data']);
    expect(names({ name: ['^web', 'cache'] })).toEqual(['cache', 'web-data']);
    expect(names({ driver: ['loc'] })).toEqual([]);
    expect(names({ driver: ['local'], label: ['app'] })).toEqual(['db-data', 'web-data']);
  });

  it('refuses to remove a volume in use unless forced, and removes its data', async () => {
    const v = await store.create('busy');
    await writeFile(join(v.Mountpoint, 'f'), 'x');
    users.set('busy', ['abc', 'def']);
    await expect(store.remove('busy')).rejects.toThrow('remove busy: volume is in use - [abc, def]');
    expect(existsSync(join(v.Mountpoint, 'f'))).toBe(true);
    await store.remove('busy', { force: true });
    expect(existsSync(join(dataRoot, 'volumes', 'busy'))).toBe(false);
    expect(store.get('busy')).toBeUndefined();
    expect(events.map((e) => `${e.action} ${e.name}`)).toEqual(['create busy', 'destroy busy']);
    await expect(store.remove('busy')).rejects.toThrow('get busy: no such volume');
    await store.remove('busy', { force: true }); // no-op
  });

  it('prunes unused anonymous volumes by default, named ones too with all', async () => {
    const anon = await store.create(undefined, { anonymous: true });
    await writeFile(join(anon.Mountpoint, 'blob'), Buffer.alloc(1000));
    const anonBusy = await store.create(undefined, { anonymous: true });
    users.set(anonBusy.Name, ['c1']);
    await store.create('named');
    await store.create('kept', { labels: { keep: 'yes' } });
    expect(await store.usage()).toEqual({ count: 4, active: 1, size: 1000, reclaimable: 1000 });
    expect(await store.prune()).toEqual({ deleted: [anon.Name], spaceReclaimed: 1000 });
    expect(await store.prune({ all: true, filters: { 'label!': ['keep'] } })).toEqual({ deleted: ['named'], spaceReclaimed: 0 });
    expect(store.list().map((v) => v.Name).sort()).toEqual([anonBusy.Name, 'kept'].sort());
  });

  it("reads prune's filters as Docker does: label! must match every value to keep, all is a Go boolean", async () => {
    await store.create('va', { labels: { keep: 'yes', tier: 'db' } });
    await store.create('vb', { labels: { keep: 'yes' } });
    expect(await store.prune({ filters: { all: ['True'], 'label!': ['keep', 'tier=db'] } })).toEqual({ deleted: ['vb'], spaceReclaimed: 0 });
    await expect(store.prune({ filters: { all: ['yes'] } })).rejects.toThrow(`invalid filter 'all': strconv.ParseBool: parsing "yes": invalid syntax`);
    await expect(store.prune({ filters: { all: ['1', '0'] } })).rejects.toThrow("invalid filter 'all=[1 0]': only one value is expected");
    await expect(store.prune({ filters: { until: ['1h'] } })).rejects.toThrow("invalid filter 'until'");
  });

  it('mounts a tmpfs volume (local driver options) on first use and unmounts it on removal', async () => {
    const v = await store.create('fast', { driverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' } });
    expect(v.Options).toEqual({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
    const path = await store.acquire('fast');
    expect(path).toBe(v.Mountpoint);
    const mount = (await mountPoints()).find((m) => m.target === path);
    expect(mount?.type).toBe('tmpfs');
    expect(await store.acquire('fast')).toBe(path); // not mounted twice
    expect((await mountPoints()).filter((m) => m.target === path)).toHaveLength(1);
    await store.remove('fast');
    expect((await mountPoints()).some((m) => m.target === path)).toBe(false);
    // The driver's filesystem mount is no event (Docker's mount/unmount are a container's).
    expect(events.map((e) => e.action)).toEqual(['create', 'destroy']);
  });

  it('binds a host directory as a volume (type=none, o=bind) and never deletes its files', async () => {
    const host = await mkdtemp(join(tmpdir(), 'berth-volumes-host-'));
    try {
      await writeFile(join(host, 'keep'), 'precious');
      await store.create('hostdir', { driverOpts: { type: 'none', o: 'bind', device: host } });
      const path = await store.acquire('hostdir');
      expect(await readFile(join(path, 'keep'), 'utf8')).toBe('precious');
      await store.remove('hostdir');
      expect(await readFile(join(host, 'keep'), 'utf8')).toBe('precious');
    } finally {
      await rm(host, { recursive: true, force: true });
    }
  });
});
