import { once } from 'node:events';
import { chownSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untrustedReason } from './endpoint-check.js';
import { ServiceDirectory } from './service-directory.js';
import { silentLogger } from '@berth/log';

interface Entry {
  id: string;
  address: string;
  startedAt: number;
  /** The KV entry's revision (a renewal makes a new one); 1 unless given. */
  revision?: number;
}

/** A read of the bucket that holds `entries` (keyed by id) and the markers of `withdrawn`. */
const readOf = (entries: Entry[], withdrawn: string[] = []) => ({
  entries: entries.map((value) => ({ key: value.id, revision: value.revision ?? 1, value })),
  keys: new Set([...entries.map((e) => e.id), ...withdrawn]),
});

let dir: string;
const servers: Server[] = [];
async function socketAt(name: string, uid?: number): Promise<string> {
  const path = join(dir, name);
  const server = createServer();
  server.listen(path);
  await once(server, 'listening');
  servers.push(server);
  if (uid !== undefined) chownSync(path, uid, uid);
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-api-test-'));
});
afterAll(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('untrustedReason', () => {
  it('trusts only a root-owned unix socket, not a symlink nor a file nor TCP', async () => {
    const root = await socketAt('root.sock');
    const other = await socketAt('other.sock', 65534);
    writeFileSync(join(dir, 'file'), '');
    symlinkSync(root, join(dir, 'link.sock'));
    expect(untrustedReason(`unix:${root}`, { owner: 0 })).toBeUndefined();
    expect(untrustedReason(`unix://${root}`, { owner: 0 })).toBeUndefined();
    expect(untrustedReason(`unix:${other}`, { owner: 0 })).toBe(`socket "${other}" is owned by uid 65534, not root`);
    expect(untrustedReason(`unix:${other}`, { owner: 65534 })).toBeUndefined(); // a gateway run by that user trusts its own
    expect(untrustedReason(`unix:${join(dir, 'link.sock')}`, { owner: 0 })).toBe(`"${join(dir, 'link.sock')}" is not a socket`);
    expect(untrustedReason(`unix:${join(dir, 'file')}`, { owner: 0 })).toBe(`"${join(dir, 'file')}" is not a socket`);
    expect(untrustedReason(`unix:${join(dir, 'gone.sock')}`, { owner: 0 })).toBe(`cannot check socket "${join(dir, 'gone.sock')}": ENOENT`);
    expect(untrustedReason('127.0.0.1:7000', { owner: 0 })).toBe(
      '"127.0.0.1:7000" is not a unix socket (agents on TCP need the cluster\'s TLS, and this gateway has no cluster certificate: --cluster-secrets)',
    );
    // With the cluster's client certificate the gateway speaks mutual TLS to it: the agent proves itself.
    expect(untrustedReason('tcp://10.0.0.2:7000', { clusterTls: true })).toBeUndefined();
  });
});

describe('ServiceDirectory', () => {
  // freshMs 0: every pick reads the list again (unless NATS is down or a read just failed), so a
  // test never waits for a cached list to go stale.
  const make = (list: () => Promise<Entry[]>, connected = () => true, log: string[] = [], freshMs = 0) =>
    new ServiceDirectory<Entry>({
      list: async () => readOf(await list()),
      ttlMs: 15_000,
      id: (e) => `host ${e.id}`,
      address: (e) => e.address,
      connected,
      noneMessage: 'No runtime agent is running',
      // What was logged, as `msg: field: field` (an error as its message).
      log: { ...silentLogger, warn: (fields, msg) => void log.push([msg, ...Object.values(fields).map((v) => (v instanceof Error ? v.message : String(v)))].join(': ')) },
      freshMs,
      timeoutMs: 200,
    });

  it('picks the newest trusted entry and logs an ignored one once', async () => {
    const good = await socketAt('good.sock');
    const evil = await socketAt('evil.sock', 65534);
    const log: string[] = [];
    const directory = make(async () => [
      { id: 'real', address: `unix:${good}`, startedAt: 1 },
      { id: 'fake', address: `unix:${evil}`, startedAt: 2 },
    ], () => true, log);
    expect((await directory.pick(0)).id).toBe('real');
    expect((await directory.pick(0)).id).toBe('real'); // read again, the ignored entry not logged again
    expect(log).toEqual([`Ignoring an entry announced on NATS: host fake: socket "${evil}" is owned by uid 65534, not root`]);
  });

  it('answers from memory when NATS is down or slow, without waiting for it', async () => {
    const good = await socketAt('cached.sock');
    let reads = 0;
    let mode: 'ok' | 'hang' | 'fail' = 'ok';
    let up = true;
    const log: string[] = [];
    const directory = make(
      () => {
        reads++;
        if (mode === 'hang') return new Promise(() => undefined);
        if (mode === 'fail') return Promise.reject(new Error('TIMEOUT'));
        return Promise.resolve([{ id: 'a', address: `unix:${good}`, startedAt: 1 }]);
      },
      () => up,
      log,
    );
    expect((await directory.pick(0)).id).toBe('a');
    up = false;
    mode = 'hang';
    let started = Date.now();
    expect((await directory.pick(0)).id).toBe('a'); // disconnected: no read at all
    expect(Date.now() - started).toBeLessThan(50);
    expect(reads).toBe(1);
    up = true; // connected but NATS does not answer: one read, cut at its deadline, then the cache
    started = Date.now();
    expect((await directory.pick(0)).id).toBe('a');
    expect(Date.now() - started).toBeLessThan(400);
    expect(reads).toBe(2);
    expect((await directory.pick(0)).id).toBe('a'); // and no new read for a while after a failure
    expect(reads).toBe(2);
    expect(log).toEqual(['Cannot read the service directory from NATS, using what was last read: no answer within 0.2 s']);
  });

  it('reuses a list it read within freshMs, without asking NATS', async () => {
    const good = await socketAt('fresh.sock');
    let reads = 0;
    const directory = make(async () => (reads++, [{ id: 'a', address: `unix:${good}`, startedAt: 1 }]), () => true, [], 60_000);
    expect((await directory.pick(0)).id).toBe('a');
    expect((await directory.pick(0)).id).toBe('a');
    expect(reads).toBe(1);
  });

  it('serves an entry that vanished without a trace until it would have lapsed; a withdrawn one goes at once', async () => {
    const [a, b] = [await socketAt('vanish-a.sock'), await socketAt('vanish-b.sock')];
    const entry = (id: string, revision = 1) => ({ id, address: `unix:${id === 'a' ? a : b}`, startedAt: 1, revision });
    let read = readOf([entry('a'), entry('b')]);
    const log: string[] = [];
    const directory = new ServiceDirectory<Entry>({
      list: async () => read,
      ttlMs: 300,
      id: (e) => `host ${e.id}`,
      address: (e) => e.address,
      connected: () => true,
      noneMessage: 'none',
      log: { ...silentLogger, warn: (fields, msg) => void log.push(`${msg}: ${String(Object.values(fields)[0])}`) },
      freshMs: 0,
    });
    const ids = async () => (await directory.all()).map((e) => e.id);
    expect(await ids()).toEqual(['a', 'b']);
    read = readOf([entry('a')]); // b's entry lost (a cluster's nats-server restarted), no marker
    expect(await ids()).toEqual(['a', 'b']);
    expect(await ids()).toEqual(['a', 'b']);
    expect(log).toEqual(['An entry vanished from NATS without being withdrawn: serving it until it would have lapsed: host b']); // once
    read = readOf([]); // the only one left lost too
    expect(await ids()).toEqual(['a', 'b']);
    read = readOf([entry('a', 2), entry('b', 2)]); // written again by their agents
    expect(await ids()).toEqual(['a', 'b']);
    read = readOf([entry('a', 2)], ['b']); // b withdrew: its marker is there
    expect(await ids()).toEqual(['a']);
    read = readOf([], ['a']); // and the only one
    expect(await ids()).toEqual([]);
    read = readOf([entry('a', 3)]);
    expect(await ids()).toEqual(['a']);
    read = readOf([]);
    expect(await ids()).toEqual(['a']);
    // A TTL after its revision was first read it would have lapsed: gone, as an agent that crashed is.
    await new Promise((r) => setTimeout(r, 320));
    expect(await ids()).toEqual([]);
  });

  it('picks among the entries `where` accepts (the builder of one host), with its own message', async () => {
    const a = await socketAt('builder-a.sock');
    const b = await socketAt('builder-b.sock');
    const directory = make(async () => [
      { id: 'host-a', address: `unix:${a}`, startedAt: 1 },
      { id: 'host-b', address: `unix:${b}`, startedAt: 2 },
    ]);
    expect((await directory.pick(0, { where: (e) => e.id === 'host-a' })).address).toBe(`unix:${a}`);
    expect((await directory.pick(0)).id).toBe('host-b');
    await expect(directory.pick(0, { where: (e) => e.id === 'host-c', noneMessage: 'No image builder is running on host "host-c"' })).rejects.toThrow(
      /^No image builder is running on host "host-c"$/,
    );
  });

  it('says no service is running, and that NATS is unreachable too when it is', async () => {
    await expect(make(async () => []).pick(0)).rejects.toThrow(/^No runtime agent is running$/);
    await expect(make(async () => [], () => false).pick(0)).rejects.toThrow(
      'No runtime agent is running (NATS, where services announce themselves, is not reachable either)',
    );
  });
});
