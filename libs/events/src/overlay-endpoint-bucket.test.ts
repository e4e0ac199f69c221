import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, tempDir, until, type NatsServer, type TempDir } from '@berth/testing';
import { inboxPrefix, natsPermissions } from './nats-permissions.js';
import { OverlayEndpointBucket, type OverlayEndpointEntry, type OverlayHostsView } from './overlay-endpoint-bucket.js';

/**
 * Two agents (hosts h1 and h2) on a real nats-server that gives each only an agent's permissions:
 * the overlay bucket must work within them.
 */
const network = 'a'.repeat(64);
const ttlMs = 3_000;

function endpoint(hostId: string, ip: string, containerId: string): OverlayEndpointEntry {
  return { networkId: network, ip, mac: '02:42:0a:00:00:02', containerId, containerName: `c-${containerId}`, aliases: ['web'], host: `192.0.2.${hostId.slice(1)}`, hostId };
}

describe('OverlayEndpointBucket', () => {
  let dir: TempDir;
  let server: NatsServer;
  const conns: NatsConnection[] = [];
  const buckets: Record<string, OverlayEndpointBucket> = {};
  const views: Record<string, OverlayHostsView> = {};
  const stops: Record<string, () => Promise<void>> = {};

  beforeAll(async () => {
    dir = tempDir();
    const users = ['h1', 'h2'].map((host) => {
      const p = natsPermissions({ role: 'agent', host });
      return `{ user: ${host}, password: pw-${host}, permissions: { publish: { allow: ${JSON.stringify(p.publish)} }, subscribe: { allow: ${JSON.stringify(p.subscribe)} } } }`;
    });
    server = await startNatsServer(dir.path, { config: `authorization { users: [\n${users.join(',\n')}\n] }\n` });
    for (const host of ['h1', 'h2']) {
      const nc = await connect({ servers: server.url, user: host, pass: `pw-${host}`, inboxPrefix: inboxPrefix({ role: 'agent', host }) });
      conns.push(nc);
      buckets[host] = new OverlayEndpointBucket(nc, { ttlMs });
    }
  });

  afterAll(async () => {
    for (const stop of Object.values(stops)) await stop();
    for (const nc of conns) await nc.close();
    await server?.stop();
    dir?.remove();
  });

  it('claims an address once across hosts; the same container claims it again', async () => {
    expect(await buckets.h1!.claim(endpoint('h1', '10.0.0.2', 'c1'))).toBe(true);
    expect(await buckets.h2!.claim(endpoint('h2', '10.0.0.2', 'c2'))).toBe(false);
    expect(await buckets.h1!.claim(endpoint('h1', '10.0.0.2', 'c1'))).toBe(true);
    expect(await buckets.h2!.claim(endpoint('h2', '10.0.0.3', 'c2'))).toBe(true);
  });

  it('shows every live host and its endpoints to every watcher, and a release to all', async () => {
    for (const host of ['h1', 'h2']) stops[host] = await buckets[host]!.watch({ hostId: host, host: `192.0.2.${host.slice(1)}` }, (v) => (views[host] = v));
    for (const host of ['h1', 'h2']) {
      const view = await until(async () => views[host], (v) => v?.endpoints.length === 2 && v.hosts.length === 2);
      expect(view!.hosts).toEqual(['192.0.2.1', '192.0.2.2']);
      expect(view!.endpoints.map((e) => [e.ip, e.containerId, e.hostId])).toEqual([
        ['10.0.0.2', 'c1', 'h1'],
        ['10.0.0.3', 'c2', 'h2'],
      ]);
    }
    await buckets.h2!.release(network, '10.0.0.3');
    const view = await until(async () => views.h1, (v) => v?.endpoints.length === 1);
    expect(view!.endpoints[0]!.ip).toBe('10.0.0.2');
  });

  it('keeps renewed entries past the TTL; a host that stops renewing loses its endpoints and addresses', async () => {
    await new Promise((r) => setTimeout(r, ttlMs + 500)); // outlive one TTL: renewals must keep h1's entries
    expect(views.h2!.endpoints.map((e) => e.ip)).toEqual(['10.0.0.2']);
    expect(views.h2!.hosts).toEqual(['192.0.2.1', '192.0.2.2']);
    await stops.h1!();
    delete stops.h1;
    const started = Date.now();
    const view = await until(async () => views.h2, (v) => v?.endpoints.length === 0 && v.hosts.length === 1, { timeoutMs: ttlMs * 3 });
    expect(view!.hosts).toEqual(['192.0.2.2']);
    expect(Date.now() - started).toBeLessThan(ttlMs + 2_500);
    expect(await buckets.h2!.claim(endpoint('h2', '10.0.0.2', 'c3'))).toBe(true);
  }, 20_000);
});
