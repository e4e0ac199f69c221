import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsFixture, type NatsFixture } from '@berth/testing';
import { liveEntries } from './kv-entries.js';

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
    expect((await liveEntries(kv, 'node.>')).map((e) => e.key)).toEqual(['node.a', 'node.b']);
    expect((await liveEntries(kv)).map((e) => e.key)).toEqual(['node.a', 'node.b', 'placement.p']);
  });
});
