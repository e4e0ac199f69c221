import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll } from 'vitest';
import { join } from 'node:path';
import { startNatsServer, type NatsServer } from './nats-server.js';
import { freePort } from './ports.js';
import { tempDir } from './temp-dir.js';
import { waitUntil } from './polling.js';

/** Three nats-servers in one cluster (JetStream, loopback), and a connection to each of the first two. */
export interface NatsClusterFixture extends AsyncDisposable {
  /** Connected to server 1. */
  nc: NatsConnection;
  /** Connected to server 2 (another gateway's, on another machine). */
  other: NatsConnection;
  /** Closes the connections, stops the servers and removes their directory. */
  stop(): Promise<void>;
}

/**
 * Starts a NATS cluster of three, as a Berth cluster of three machines runs (the platform's streams
 * then keep 3 replicas: libs/events stream-replicas.ts), and waits until both connections know all
 * three servers (so that a bucket opened through them gets its 3 replicas).
 */
export async function startNatsClusterFixture(): Promise<NatsClusterFixture> {
  const dir = tempDir();
  const servers: NatsServer[] = [];
  const connections: NatsConnection[] = [];
  const stop = async () => {
    await Promise.all(connections.map((c) => c.close().catch(() => {})));
    await Promise.all(servers.map((s) => s.stop()));
    dir.remove();
  };
  try {
    const routes = await Promise.all([0, 1, 2].map(() => freePort()));
    for (let i = 0; i < 3; i++) {
      const config = [`server_name: s${i}`, `cluster { name: test, listen: 127.0.0.1:${routes[i]}, routes: [${routes.map((p) => `nats-route://127.0.0.1:${p}`).join(', ')}] }`].join('\n');
      servers.push(await startNatsServer(join(dir.path, `s${i}`), { config }));
    }
    const nc = await connect({ servers: servers[0]!.url });
    connections.push(nc);
    const other = await connect({ servers: servers[1]!.url });
    connections.push(other);
    await waitUntil('both connections know the three servers', () => [nc, other].every((c) => (c.info?.connect_urls?.length ?? 0) >= 3), { timeoutMs: 30_000, intervalMs: 50 });
    // JetStream places a stream of 3 replicas once the cluster has its meta leader and every server
    // has reported to it ("no suitable peers for placement" before): one made and removed.
    await waitUntil(
      'the cluster to take a stream of 3 replicas',
      async () => {
        try {
          const jsm = await nc.jetstreamManager({ timeout: 2_000 });
          await jsm.streams.add({ name: 'fixture-probe', subjects: ['fixture-probe'], num_replicas: 3 });
          await jsm.streams.delete('fixture-probe');
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    return { nc, other, stop, [Symbol.asyncDispose]: stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A NATS cluster of three (startNatsClusterFixture) for the enclosing describe's tests: started in
 * `beforeAll`, then `warmUp` given each of the two connections in turn (to make a bucket before
 * the tests race on it: two gateways making a stream of 3 replicas at once, one is refused, and a
 * first write through each server waits for the stream's leader); stopped in `afterAll`. The handle
 * is that cluster's connections from its `beforeAll` on (before, it throws).
 */
export function useNatsClusterFixture(warmUp?: (nc: NatsConnection) => Promise<unknown>): Pick<NatsClusterFixture, 'nc' | 'other'> {
  let cluster: NatsClusterFixture | undefined;
  beforeAll(async () => {
    cluster = await startNatsClusterFixture();
    if (warmUp) for (const nc of [cluster.nc, cluster.other]) await warmUp(nc);
  }, 60_000);
  afterAll(() => cluster?.stop());
  const started = (): NatsClusterFixture => {
    if (cluster === undefined) throw new Error('The NATS cluster starts in its beforeAll: use it in a hook or a test');
    return cluster;
  };
  return {
    get nc() {
      return started().nc;
    },
    get other() {
      return started().other;
    },
  };
}
