import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BuilderAnnouncement } from '@berth/proto';
import { startNatsServer, tempDir, waitUntil, type NatsServer, type TempDir } from '@berth/testing';
import { AnnouncementBucket, BuilderDirectory, connectNats } from './index.js';

/**
 * The one announcement bucket behind `hosts`, `registries` and `builders`, on a real nats-server:
 * renewals keep an entry past its TTL, an unrenewed one expires, a stopped one is gone at once,
 * and failed renewals (NATS away) are reported once per outage, then resume by themselves.
 */

let dir: TempDir;
let nats: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  dir = tempDir();
  nats = await startNatsServer(dir.path);
  nc = await connectNats(nats.url, { name: 'announcement-bucket-test' });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
  dir?.remove();
});

const TTL_MS = 1_500;
const bucket = (name: string) =>
  new AnnouncementBucket<BuilderAnnouncement>(nc, {
    bucket: name,
    ttlMs: TTL_MS,
    codec: BuilderAnnouncement,
    key: (a) => a.hostId,
    usable: (a) => a.address !== '',
    noneMessage: 'No test service is running',
    // A renewal while NATS is away fails after this, not nats.js's 5 s: the outage case runs several.
    requestTimeoutMs: 500,
  });
const entry = (hostId: string, startedAt = 1, address = `unix:/run/${hostId}.sock`) => ({ hostId, address, version: '0', startedAt });
const ids = async (b: AnnouncementBucket<BuilderAnnouncement>) => (await b.list()).map((a) => a.hostId).sort();

describe('AnnouncementBucket', () => {
  it('keeps a renewed entry past its TTL, lets an unrenewed one expire, and removes a stopped one at once', async () => {
    const b = bucket('test-lifetime');
    const stop = await b.keepAnnounced(entry('kept'));
    await b.announce(entry('once'));
    expect(await ids(b)).toEqual(['kept', 'once']);
    await waitUntil('the unrenewed entry to expire', async () => (await ids(b)).length === 1);
    expect(await ids(b)).toEqual(['kept']);
    // Renewed every TTL / 3: three more renewals take it past another TTL, and it is still there.
    const kv = await nc.jetstream().views.kv('test-lifetime');
    const revision = async () => (await kv.get('kept'))?.revision ?? 0;
    const seen = await revision();
    await waitUntil('three more renewals', async () => (await revision()) >= seen + 3);
    expect(await ids(b)).toEqual(['kept']);
    await stop();
    expect(await ids(b)).toEqual([]);
  });

  it('picks the newest usable entry, or says none is running', async () => {
    const b = bucket('test-first');
    await expect(b.first(0)).rejects.toThrow(/^No test service is running$/);
    await b.announce(entry('old', 1));
    await b.announce(entry('new', 2));
    await b.announce(entry('unusable', 3, ''));
    expect((await b.first()).hostId).toBe('new');
  });

  it('reports failed renewals once per outage and renews again when NATS is back', async () => {
    const b = bucket('test-outage');
    const errors: string[] = [];
    const stop = await b.keepAnnounced(entry('survivor'), { onError: (err) => errors.push((err as Error).message) });
    const attempts = vi.spyOn(b, 'announce'); // each renewal is one announce()
    await nats.stop();
    await waitUntil('a failed renewal', async () => errors.length > 0, { timeoutMs: 20_000 });
    const failedBefore = attempts.mock.calls.length;
    await waitUntil('two more renewals (failing too)', async () => attempts.mock.calls.length >= failedBefore + 2, { timeoutMs: 20_000 });
    expect(errors).toHaveLength(1);
    nats = await startNatsServer(dir.path, { port: nats.port });
    // The entry expired while NATS was away (or with it); the next renewal writes it again.
    // A read may fail while the connection comes back: it counts as "not yet".
    await waitUntil('the entry to be back', async () => (await ids(b).catch((): string[] => [])).includes('survivor'), { timeoutMs: 20_000 });
    await stop();
    expect(await ids(b)).toEqual([]);
  }, 60_000);

  it('tells a withdrawn entry (its marker stays) from one lost with a restarted nats-server (no trace)', async () => {
    const b = bucket('test-traces');
    await b.announce(entry('kept'));
    const stop = await b.keepAnnounced(entry('withdrawn'));
    await stop();
    const read = await b.read();
    expect(read.entries.map((e) => [e.key, e.value.hostId])).toEqual([['kept', 'kept']]);
    expect(read.entries[0]!.revision).toBeGreaterThan(0);
    expect([...read.keys].sort()).toEqual(['kept', 'withdrawn']);
    await nats.stop();
    nats = await startNatsServer(dir.path, { port: nats.port });
    // In memory, the bucket went with the server; the first read after it is back makes it again, empty.
    let after: Awaited<ReturnType<typeof b.read>> | undefined;
    await waitUntil('a read after the restart', async () => (after = await b.read().catch(() => undefined)) !== undefined, { timeoutMs: 20_000 });
    expect(after!.entries).toEqual([]);
    expect([...after!.keys]).toEqual([]);
  }, 60_000);

  it('is what BuilderDirectory is: the builders bucket, one entry per host id', async () => {
    const builders = new BuilderDirectory(nc);
    const stop = await builders.keepAnnounced(entry('host-1'));
    expect((await builders.list()).map((a) => a.address)).toEqual(['unix:/run/host-1.sock']);
    await stop();
    expect(await builders.list()).toEqual([]);
  });
});
