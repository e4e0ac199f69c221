import type { NatsConnection } from 'nats';
import { BUILDERS_BUCKET, CLUSTER_BUCKET, COMPOSE_PROJECTS_BUCKET, EVENTS_STREAM, HOSTS_BUCKET, LEASES_BUCKET, NAME_CLAIMS_BUCKET, NATS_MEMBERS_BUCKET, REGISTRIES_BUCKET, RESERVATIONS_BUCKET, REVOCATIONS_BUCKET, kvStream } from './subjects.js';

/**
 * How many copies the platform's streams keep: 3 in a NATS cluster of 3 servers or more (JetStream
 * then keeps working while one is down: a stream of 3 replicas needs 2 of them), else 1 (the single
 * loopback nats-server, or a cluster of 2). Read from the servers the connection's server knows
 * (its INFO's `connect_urls`, every client URL of its cluster).
 */
export function streamReplicas(nc: NatsConnection): number {
  const info = nc.info;
  return info?.cluster !== undefined && (info.connect_urls?.length ?? 0) >= 3 ? 3 : 1;
}

/** Every stream the platform keeps (the event stream, the KV buckets' streams). */
export const PLATFORM_STREAMS = [EVENTS_STREAM, ...[HOSTS_BUCKET, REGISTRIES_BUCKET, BUILDERS_BUCKET, COMPOSE_PROJECTS_BUCKET, CLUSTER_BUCKET, RESERVATIONS_BUCKET, NAME_CLAIMS_BUCKET, LEASES_BUCKET, REVOCATIONS_BUCKET, NATS_MEMBERS_BUCKET].map(kvStream)];

/**
 * Gives each existing platform stream with fewer than `replicas` replicas that many (a stream
 * created while the cluster had fewer servers). Needs the gateway's permissions (stream update).
 * @returns the names of the streams it scaled
 */
export async function scaleStreams(nc: NatsConnection, replicas: number): Promise<string[]> {
  const jsm = await nc.jetstreamManager({ timeout: 10_000 });
  const scaled: string[] = [];
  for (const name of PLATFORM_STREAMS) {
    let info;
    try {
      info = await jsm.streams.info(name);
    } catch (err) {
      if (/stream not found/i.test(String(err))) continue; // created later, with the replicas of its time
      throw err;
    }
    if (info.config.num_replicas >= replicas) continue;
    await jsm.streams.update(name, { ...info.config, num_replicas: replicas });
    scaled.push(name);
  }
  return scaled;
}
