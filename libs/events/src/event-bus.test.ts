import { connect } from 'nats';
import { describe, expect, it, vi } from 'vitest';
import { memoryLogger, startNatsServer, tempDir } from '@berth/testing';
import { EventBus, HostRegistry, eventSubject } from './index.js';
import { useNatsFixture } from './test-support.js';
import { EVENTS_STREAM, EVENTS_SUBJECT_PREFIX } from './subjects.js';

describe('EventBus on a real nats-server', () => {
  const fixture = useNatsFixture();

  it('replays past events with --since and stops at --until, honouring filters', async () => {
    const bus = new EventBus(fixture.nc, 'host-1');
    await bus.ensureStream();
    await bus.ensureStream(); // idempotent
    const start = Date.now();
    await bus.publish({ type: 'container', action: 'create', id: 'c1', attributes: { name: 'web', image: 'busybox' } });
    await bus.publish({ type: 'container', action: 'start', id: 'c1', attributes: { name: 'web', image: 'busybox' } });
    await bus.publish({ type: 'image', action: 'tag', id: 'sha256:abc', attributes: { name: 'busybox:latest' } });
    const publishedBy = Date.now();
    const until = publishedBy + 200;

    const all = [];
    for await (const e of bus.subscribe({ since: start - 1000, until })) all.push(`${e.type}.${e.action}`);
    expect(all).toEqual(['container.create', 'container.start', 'image.tag']);

    // An `until` already in the past: a pure replay still delivers everything up to it.
    const started = [];
    for await (const e of bus.subscribe({ since: start - 1000, until: publishedBy, filters: [{ key: 'event', value: 'start' }, { key: 'container', value: 'web' }] }))
      started.push(e.actor?.id);
    expect(started).toEqual(['c1']);
  });

  it('keeps replaying to a reader slower than the stall deadline (the deadline times NATS, not the reader)', async () => {
    const bus = new EventBus(fixture.nc, 'host-slow', { requestTimeoutMs: 300 });
    await bus.ensureStream();
    const start = Date.now();
    for (const id of ['a', 'b', 'c']) await bus.publish({ type: 'volume', action: 'create', id });
    const ids = [];
    for await (const e of bus.subscribe({ since: start, until: Date.now(), filters: [{ key: 'type', value: 'volume' }] })) {
      ids.push(e.actor?.id);
      // A gateway waiting for its gRPC client to drain: longer than the bus's deadline.
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(ids).toEqual(['a', 'b', 'c']);
  });

  it('follows new events', async () => {
    const bus = new EventBus(fixture.nc, 'host-1');
    await bus.ensureStream();
    const controller = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const e of bus.subscribe({ signal: controller.signal, filters: [{ key: 'type', value: 'image' }] })) {
        seen.push(e.action);
        controller.abort();
      }
    })();
    // No wait for the consumer: the subscription's start time ("now") was taken when the reader
    // first asked for an event, before these are published.
    await bus.publish({ type: 'container', action: 'die', id: 'c2' });
    await bus.publish({ type: 'image', action: 'delete', id: 'sha256:def' });
    await reading;
    expect(seen).toEqual(['delete']);
  });

  it('keeps hosts in a TTL bucket', async () => {
    const hosts = new HostRegistry(fixture.nc);
    await hosts.announce({ hostId: 'h1', hostname: 'box', address: '127.0.0.1:1', version: '0', startedAt: 1 });
    expect((await hosts.first()).address).toBe('127.0.0.1:1');
    await hosts.announce({ hostId: 'h2', hostname: 'box2', address: '127.0.0.1:2', version: '0', startedAt: 2 });
    expect((await hosts.list()).map((h) => h.hostId).sort()).toEqual(['h1', 'h2']);
    expect((await hosts.first()).address).toBe('127.0.0.1:2'); // the most recently started
    await hosts.withdraw('h1');
    await hosts.withdraw('h2');
    expect(await hosts.list()).toEqual([]);
  });
});

describe('subjects', () => {
  it('keeps subjects to valid tokens', () => {
    expect(eventSubject('container', 'start', 'host-1')).toBe('berth.events.host-1.container.start');
    expect(eventSubject('container', 'start')).toBe('berth.events.local.container.start');
    expect(eventSubject('image', 'push', 'box.example.com')).toBe('berth.events.box_example_com.image.push');
    expect(eventSubject('container', 'exec_start: sh -c x', 'h')).toBe('berth.events.h.container.exec_start');
  });
});

describe('EventBus while NATS is down', () => {
  it('keeps emitted events and publishes them in order when NATS is back; reads fail fast', async () => {
    const dir = tempDir();
    let nats = await startNatsServer(dir.path);
    const log = memoryLogger();
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      const bus = new EventBus(nc, 'host-1', { requestTimeoutMs: 1_000 });
      await bus.ensureStream();
      const start = Date.now();
      bus.emit({ type: 'container', action: 'create', id: 'before' });
      await vi.waitFor(() => expect(bus.pending).toBe(0), { timeout: 10_000, interval: 20 });

      // Stopped, and the client has noticed (the bus listens to the same status events, and was
      // told first: it subscribed first).
      const disconnected = (async () => {
        for await (const s of nc.status()) if (s.type === 'disconnect') return;
      })();
      await nats.stop();
      await disconnected;
      for (const id of ['c1', 'c2', 'c3']) expect(bus.emit({ type: 'container', action: 'start', id }).actor?.id).toBe(id); // never waits
      expect(bus.pending).toBe(3);
      const small = new EventBus(nc, 'host-2', { maxBuffered: 2, log });
      for (const id of ['s1', 's2', 's3']) small.emit({ type: 'volume', action: 'create', id });
      expect(small.pending).toBe(2);
      expect(log.events).toEqual([{ level: 'warn', msg: 'Too many events waiting for NATS: dropping the oldest', fields: { buffered: 2 } }]);
      const started = Date.now();
      await expect(bus.subscribe({ since: start, until: Date.now() }).next()).rejects.toThrow(
        "Cannot read events: the platform's event bus (NATS) is not reachable: the connection to NATS is down",
      );
      expect(Date.now() - started).toBeLessThan(500);

      nats = await startNatsServer(dir.path, { port: nats.port });
      await vi.waitFor(() => expect(bus.pending + small.pending).toBe(0), { timeout: 10_000, interval: 50 });
      const ids = [];
      for await (const e of bus.subscribe({ since: start, until: Date.now() })) ids.push(e.actor?.id);
      // Each bus keeps its own order (the two drain side by side).
      expect(ids.filter((id) => !id?.startsWith('s'))).toEqual(['before', 'c1', 'c2', 'c3']);
      expect(ids.filter((id) => id?.startsWith('s'))).toEqual(['s2', 's3']);
      expect(log.events).toContainEqual({ level: 'info', msg: 'Events are published again', fields: { dropped: 1 } });
    } finally {
      await nc.close();
      await nats.stop();
      dir.remove();
    }
  });
});

describe('EventBus.ensureStream', () => {
  it('succeeds in every service that creates the stream at the same time (a platform starting)', async () => {
    const dir = tempDir();
    const nats = await startNatsServer(dir.path);
    const conns = await Promise.all(Array.from({ length: 12 }, () => connect({ servers: nats.url })));
    try {
      // Rounds of creates at once: nats-server now and then answers one that raced another
      // "subjects overlap with an existing stream" (a CI run: the registry exited while starting;
      // here, the old ensureStream failed 1 of 6 runs of 40 rounds beside three busy loops).
      for (let round = 0; round < 40; round++) {
        const jsm = await conns[0]!.jetstreamManager();
        await jsm.streams.delete(EVENTS_STREAM).catch(() => false); // none yet in the first round
        const outcomes = await Promise.allSettled(conns.map((nc, i) => new EventBus(nc, `host-${i}`).ensureStream()));
        expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
        expect((await jsm.streams.info(EVENTS_STREAM)).config.subjects).toEqual([`${EVENTS_SUBJECT_PREFIX}.>`]);
      }
    } finally {
      await Promise.all(conns.map((nc) => nc.close()));
      await nats.stop();
      dir.remove();
    }
  });
});
