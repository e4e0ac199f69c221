import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '@berth/events';
import type { Event } from '@berth/proto';
import { startNatsFixture, type NatsFixture } from '@berth/testing';
import { NatsEventSink } from './registry-events.js';
import { pushImage, startTestRegistry, type TestRegistry } from './test-support.js';

describe('image events on NATS', () => {
  let nats: NatsFixture;
  let bus: EventBus;
  let sink: NatsEventSink;
  let registry: TestRegistry;

  beforeAll(async () => {
    nats = await startNatsFixture();
    bus = new EventBus(nats.nc, 'host-1');
    await bus.ensureStream();
    sink = new NatsEventSink(bus);
    registry = await startTestRegistry({ deleteEnabled: true, events: sink });
  });
  afterAll(async () => {
    await registry?.close();
    await sink?.flush();
    await nats?.stop();
  });

  /** Every event published since `since`, read until the stream has been quiet for a moment. */
  async function eventsSince(since: number): Promise<Event[]> {
    await sink.flush();
    const events: Event[] = [];
    for await (const e of bus.subscribe({ since, until: Date.now() + 300 })) events.push(e);
    return events;
  }

  const summary = (e: Event) => ({ type: e.type, action: e.action, id: e.actor?.id, attributes: e.actor?.attributes });

  it('publishes image.push per tag and image.delete for a tag and for a manifest', async () => {
    const since = Date.now() - 1;
    const image = await pushImage(registry.app, 'team/app', 'v1');
    // A second tag of the same manifest with ?tag=, and a push by digest.
    const res = await registry.app.inject({
      method: 'PUT',
      url: `/v2/team/app/manifests/${image.digest}?tag=v2&tag=latest`,
      payload: image.manifest,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.statusCode).toBe(201);
    expect((await registry.app.inject({ method: 'DELETE', url: '/v2/team/app/manifests/v2' })).statusCode).toBe(202);
    expect((await registry.app.inject({ method: 'DELETE', url: `/v2/team/app/manifests/${image.digest}` })).statusCode).toBe(202);

    const base = { repository: 'team/app', digest: image.digest };
    const mediaType = 'application/vnd.oci.image.manifest.v1+json';
    expect((await eventsSince(since)).map(summary)).toEqual([
      { type: 'image', action: 'push', id: 'team/app:v1', attributes: { name: 'team/app:v1', ...base, mediaType } },
      { type: 'image', action: 'push', id: 'team/app:v2', attributes: { name: 'team/app:v2', ...base, mediaType } },
      { type: 'image', action: 'push', id: 'team/app:latest', attributes: { name: 'team/app:latest', ...base, mediaType } },
      { type: 'image', action: 'delete', id: 'team/app:v2', attributes: { name: 'team/app:v2', ...base } },
      { type: 'image', action: 'delete', id: `team/app@${image.digest}`, attributes: { name: `team/app@${image.digest}`, ...base, tags: 'latest,v1' } },
    ]);
  });

  it('publishes nothing for a refused push, and keeps serving when NATS is unreachable', async () => {
    const since = Date.now() - 1;
    const res = await registry.app.inject({
      method: 'PUT',
      url: '/v2/team/other/manifests/v1',
      payload: '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:' + 'a'.repeat(64) + '","size":2},"layers":[]}',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.statusCode).toBe(400);
    expect(await eventsSince(since)).toEqual([]);

    // A sink over a closed connection: the push still succeeds, the failure goes to onError.
    const closed = await connect({ servers: nats.server.url });
    const closedBus = new EventBus(closed);
    await closed.close();
    const failures: string[] = [];
    const failing = new NatsEventSink(closedBus, (err, event) => failures.push(`${event.action} ${event.repository}: ${(err as Error).message}`));
    const other = await startTestRegistry({ events: failing });
    try {
      await pushImage(other.app, 'offline/app', 'v1');
      await failing.flush();
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatch(/^push offline\/app: /);
    } finally {
      await other.close();
    }
  });
});
