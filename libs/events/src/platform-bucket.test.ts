import { describe, expect, it } from 'vitest';
import { liveEntries } from './kv-entries.js';
import { PlatformBucket, openPlatformBucket } from './platform-bucket.js';
import { useNatsFixture } from './test-support.js';

const nats = useNatsFixture();

describe('openPlatformBucket', () => {
  it('reads through the stream leader, never by a direct get a lagging replica could answer', async () => {
    const kv = await openPlatformBucket(nats.nc, 'platform-bucket-test', { ttlMs: 60_000 });
    const requests: string[] = [];
    // Core NATS hands every request to each subscriber of its subject: these see the reads go by.
    const watch = nats.nc.subscribe('$JS.API.>', { callback: (_err, msg) => requests.push(msg.subject) });
    await nats.nc.flush();
    await kv.put('node.a', new TextEncoder().encode('A'));
    expect(new TextDecoder().decode((await kv.get('node.a'))!.value)).toBe('A');
    expect((await liveEntries(nats.nc, 'platform-bucket-test', kv)).map((e) => e.key)).toEqual(['node.a']);
    await nats.nc.flush();
    watch.unsubscribe();
    expect(requests.filter((s) => s.startsWith('$JS.API.DIRECT.GET.'))).toEqual([]);
    // The keys come from the stream's info, not from a consumer (kv.keys() can hang: kv-entries.ts).
    expect(requests.filter((s) => s.startsWith('$JS.API.CONSUMER.'))).toEqual([]);
    expect(requests.filter((s) => s === '$JS.API.STREAM.INFO.KV_platform-bucket-test')).toHaveLength(1);
    expect(requests.filter((s) => s === '$JS.API.STREAM.MSG.GET.KV_platform-bucket-test')).toHaveLength(2);
  });

  it('keeps a bucket created with direct gets, and still reads it through the leader', async () => {
    await nats.nc.jetstream().views.kv('platform-bucket-old', { history: 1, allow_direct: true });
    const kv = await openPlatformBucket(nats.nc, 'platform-bucket-old');
    const requests: string[] = [];
    const watch = nats.nc.subscribe('$JS.API.DIRECT.GET.>', { callback: (_err, msg) => requests.push(msg.subject) });
    await kv.put('k', new TextEncoder().encode('v'));
    expect((await kv.get('k'))?.value.length).toBe(1);
    await nats.nc.flush();
    watch.unsubscribe();
    expect(requests).toEqual([]);
  });

  it('opens a bucket again after a failure: a memory bucket lost with its server comes back at the next use', async () => {
    const bucket = new PlatformBucket(nats.nc, 'platform-bucket-memory', { memory: true, ttlMs: 60_000 });
    await bucket.use((kv) => kv.put('lease', new TextEncoder().encode('1')));
    const jsm = await nats.nc.jetstreamManager();
    await jsm.streams.delete('KV_platform-bucket-memory'); // as a nats-server restart loses a memory stream
    await expect(bucket.use((kv) => kv.put('lease', new TextEncoder().encode('2')))).rejects.toThrow();
    await bucket.use((kv) => kv.put('lease', new TextEncoder().encode('3')));
    expect(new TextDecoder().decode((await bucket.use((kv) => kv.get('lease')))!.value)).toBe('3');
    expect((await jsm.streams.info('KV_platform-bucket-memory')).config.storage).toBe('memory');
  });
});

