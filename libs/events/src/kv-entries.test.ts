import type { KvEntry } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsFixture, type NatsFixture } from '@berth/testing';
import { liveEntries, readEntries } from './kv-entries.js';

let nats: NatsFixture;
beforeAll(async () => {
  nats = await startNatsFixture();
});
afterAll(async () => {
  await nats?.stop();
});

describe('liveEntries', () => {
  it('reads the entries that hold a value, by key, under a filter', async () => {
    const kv = await nats.nc.jetstream().views.kv('kv-entries-test', { history: 1 });
    const bytes = (text: string) => new TextEncoder().encode(text);
    await kv.put('node.b', bytes('B'));
    await kv.put('node.a', bytes('A'));
    await kv.put('node.gone', bytes('x'));
    await kv.delete('node.gone');
    await kv.put('node.empty', new Uint8Array());
    await kv.put('placement.p', bytes('P'));
    expect((await liveEntries(nats.nc, 'kv-entries-test', kv, 'node.>')).map((e) => e.key)).toEqual(['node.a', 'node.b']);
    expect((await liveEntries(nats.nc, 'kv-entries-test', kv)).map((e) => e.key)).toEqual(['node.a', 'node.b', 'placement.p']);
    // Every key the stream holds a message for: the deleted one's marker and the empty one count.
    const read = await readEntries(nats.nc, 'kv-entries-test', kv, 'node.>');
    expect(read.live.map((e) => e.key)).toEqual(['node.a', 'node.b']);
    expect([...read.keys]).toEqual(['node.a', 'node.b', 'node.empty', 'node.gone']);
  });

  it('lists while entries expire, the newest among them, without waiting on them', async () => {
    const kv = await nats.nc.jetstream().views.kv('kv-entries-ttl', { history: 1, ttl: 200 });
    const bytes = new TextEncoder().encode('x');
    // Bursts of entries, each listed again and again until every entry of it has expired: some
    // listing is under way when the newest expires (nats.js's kv.keys() then waited for good).
    for (let burst = 0; burst < 5; burst++) {
      for (let i = 0; i < 20; i++) await kv.put(`k${i}`, bytes);
      let listed: KvEntry[];
      do {
        listed = await liveEntries(nats.nc, 'kv-entries-ttl', kv);
        expect(new Set(listed.map((e) => e.key)).size).toBe(listed.length);
      } while (listed.length > 0);
    }
  }, 30_000);
});
