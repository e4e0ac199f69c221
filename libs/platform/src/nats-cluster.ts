import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, nkeyAuthenticator, type NatsConnection } from 'nats';
import { UnavailableError } from '@berth/errors';
import { inboxPrefix, scaleStreams, type NatsIdentity } from '@berth/events';
import { natsCaFile, natsTlsOption } from './nats-tls.js';
import { joinedHosts, natsUsers, secretsOf, writeNatsServerConfig, writeSecret, type NatsClusterConfig, type NatsServerConfigOptions } from './platform-secrets.js';
import { isJoinedHost, type PlatformSettings } from './platform-settings.js';

/**
 * A NATS cluster of the platform's hosts (`platform up --nats-cluster` on the first host, then
 * `platform join` on the others of this machine, or `platform up --join … --token …` on other
 * machines, nats-membership.ts): every host runs a nats-server of its own, routed to the others,
 * all letting in the same users (the first host's services and every joined host's agent and
 * builder, platform-secrets.ts). JetStream runs clustered: it needs a quorum of the servers it has
 * seen (2 of 3) to elect its metadata leader, so the first host's services wait for a second
 * server, and a stream with 3 replicas keeps working while 1 of its 3 servers is down.
 *
 *   <first>/secrets/nats-routes.json     the credentials the servers route to each other with
 *   <host>/secrets/nats-server.conf      each server's config, rewritten by every `up`/`join`
 *                                        (routes to all the others), reloaded with SIGHUP
 *
 * The cluster is read from the first host's data root: its `platform.json` and
 * `secrets/hosts/*.json`, which name each joined host's data root (on this machine) or, for a host
 * joined with a token (another machine), its address and ports. A token-joined host learns the
 * cluster from its join answer and then from KV `nats-members` (nats-membership.ts).
 */
export interface NatsServerEntry {
  hostId: string;
  /** Its data root, when it is on this machine (`platform join --cluster`); a token-joined host's is not known. */
  dataRoot?: string;
  /** Where it listens for clients and routes. */
  address: string;
  port: number;
  routePort: number;
}

/** The replicas of the platform's streams when the cluster has this many servers or more. */
export const REPLICATED_SERVERS = 3;

export function hostAddress(settings: PlatformSettings): string {
  return settings.address ?? '127.0.0.1';
}

/** The first host's address (the registry's; the nats-server's without a NATS cluster), seen from this host. */
export function firstHostAddress(settings: PlatformSettings): string {
  return isJoinedHost(settings) ? (settings.firstHostAddress ?? '127.0.0.1') : hostAddress(settings);
}

/** The data root of the cluster's first host (a host's own, when it is the first). */
export function firstDataRoot(settings: PlatformSettings): string {
  return settings.cluster ?? settings.dataRoot;
}

function readSettings(dataRoot: string): PlatformSettings | undefined {
  const file = join(dataRoot, 'platform.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as PlatformSettings) : undefined;
}

/** The nats-servers of the cluster whose first host has `first`: the first host's, then each joined host's. */
export function natsClusterServers(first: string): NatsServerEntry[] {
  const servers: NatsServerEntry[] = [];
  const own = (s: PlatformSettings | undefined) => {
    if (s?.natsRoutePort !== undefined) servers.push({ hostId: s.hostId, dataRoot: s.dataRoot, address: hostAddress(s), port: s.natsPort, routePort: s.natsRoutePort });
  };
  own(readSettings(first));
  for (const h of joinedHosts(first)) {
    if (h.dataRoot !== undefined) own(readSettings(h.dataRoot));
    else if (h.address !== undefined && h.natsPort !== undefined && h.natsRoutePort !== undefined) {
      servers.push({ hostId: h.hostId, address: h.address, port: h.natsPort, routePort: h.natsRoutePort });
    }
  }
  return servers;
}

/** The config options of a first host's own nats-server (with its cluster part in a NATS cluster). */
export function firstHostNatsOptions(settings: PlatformSettings): NatsServerConfigOptions {
  return {
    port: settings.natsPort,
    host: hostAddress(settings),
    storeDir: join(settings.dataRoot, 'nats'),
    hostId: settings.hostId,
    ...(settings.natsRoutePort !== undefined
      ? { cluster: natsClusterConfig({ hostId: settings.hostId, address: hostAddress(settings), routePort: settings.natsRoutePort }, settings.dataRoot) }
      : {}),
  };
}

/**
 * The NATS URLs a host's services connect with (`--nats`, comma-separated): its own server first,
 * then the cluster's others, so that a service whose server dies reconnects to another.
 */
export function natsUrls(settings: PlatformSettings): string {
  // Joined with a token (another machine): the cluster's URLs it was given (its own server's first
  // in a NATS cluster; cluster-join.ts adds the other servers' it was told of).
  if (settings.joinedNats !== undefined) {
    const own = settings.natsRoutePort !== undefined ? [`nats://${hostAddress(settings)}:${settings.natsPort}`] : [];
    return [...new Set([...own, ...settings.joinedNats])].join(',');
  }
  if (settings.natsRoutePort === undefined) {
    // One nats-server: the first host's (a joined host reaches it at the first host's address).
    return `nats://${firstHostAddress(settings)}:${settings.natsPort}`;
  }
  const own = `nats://${hostAddress(settings)}:${settings.natsPort}`;
  const others = natsClusterServers(firstDataRoot(settings))
    .filter((s) => s.hostId !== settings.hostId)
    .map((s) => `nats://${s.address}:${s.port}`);
  return [own, ...others].join(',');
}

/** The routes' credentials, made at the first host's first `up --nats-cluster`. */
export function natsRouteAuth(first: string): { username: string; password: string } {
  const file = join(secretsOf(first).dir, 'nats-routes.json');
  mkdirSync(secretsOf(first).dir, { recursive: true, mode: 0o700 });
  if (!existsSync(file)) writeSecret(file, JSON.stringify({ username: 'berth-route', password: randomBytes(32).toString('base64url') }) + '\n');
  return JSON.parse(readFileSync(file, 'utf8')) as { username: string; password: string };
}

/**
 * The cluster part of `server`'s config: its name, route listener, and routes to every server of
 * the cluster. Its own is among them (nats-server drops a route to itself): a first host alone
 * has routes configured, without which nats-server refuses to start a clustered JetStream.
 */
export function natsClusterConfig(server: Pick<NatsServerEntry, 'hostId' | 'address' | 'routePort'>, first: string): NatsClusterConfig {
  const listen = `${server.address}:${server.routePort}`;
  return {
    serverName: server.hostId,
    listen,
    routes: [...new Set([listen, ...natsClusterServers(first).map((s) => `${s.address}:${s.routePort}`)])],
    auth: natsRouteAuth(first),
  };
}

/**
 * Rewrites the config of every joined host's nats-server of the cluster (routes to all the others,
 * the cluster's users): after a host joined, each must route to it and let its services in.
 * @returns the data roots whose config changed (their running server must reload it)
 */
export function writeMemberNatsConfigs(first: string): string[] {
  const firstSettings = readSettings(first)!;
  const users = natsUsers(first, firstSettings.hostId);
  const changed: string[] = [];
  for (const server of natsClusterServers(first)) {
    if (server.dataRoot === undefined) continue; // another machine's: its agent rewrites it (nats-membership.ts)
    const member = readSettings(server.dataRoot)!;
    const nats = { port: server.port, host: server.address, storeDir: join(server.dataRoot, 'nats'), hostId: firstSettings.hostId, cluster: natsClusterConfig(server, first) };
    if (writeNatsServerConfig(member.dataRoot, nats, users)) changed.push(member.dataRoot);
  }
  return changed;
}

/** Connects to `servers` as `identity` with the nkey in `seedFile` (TLS with `caFile`), without reconnecting. */
async function connectOnce(servers: string[], seedFile: string, identity: NatsIdentity & { caFile: string | undefined }): Promise<NatsConnection> {
  const seed = new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim());
  return connect({ servers, authenticator: nkeyAuthenticator(seed), inboxPrefix: inboxPrefix(identity), reconnect: false, timeout: 2_000, ...natsTlsOption(identity.caFile) });
}

/**
 * Waits until JetStream answers on this host's nats-server (a clustered JetStream has no
 * metadata leader until a quorum of its servers route to each other): asked as this host's agent.
 */
export async function waitJetStream(settings: PlatformSettings, timeoutMs: number): Promise<void> {
  const url = `nats://${hostAddress(settings)}:${settings.natsPort}`;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const nc = await connectOnce([url], secretsOf(settings.dataRoot).nkeySeedFile('runtime-agent'), { role: 'agent', host: settings.hostId, caFile: natsCaFile(settings) });
      try {
        await (await nc.jetstreamManager({ timeout: 2_000 })).getAccountInfo();
        return;
      } finally {
        await nc.close();
      }
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new UnavailableError(
        `JetStream of the NATS cluster did not start within ${timeoutMs / 1000} s (${url}: ${last}): it needs 2 of its nats-servers routed to each other: run \`berth platform join\` on a second host`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Once the cluster has REPLICATED_SERVERS nats-servers, gives the platform's streams (the event
 * stream and the KV buckets) that many replicas (libs/events scaleStreams), as the gateway (the
 * only service allowed to update streams). A server that is down meanwhile only delays it: the
 * next `up` or `join` tries again.
 * @returns the streams scaled
 */
export async function scalePlatformStreams(settings: PlatformSettings): Promise<string[]> {
  const first = firstDataRoot(settings);
  const servers = natsClusterServers(first);
  if (servers.length < REPLICATED_SERVERS) return [];
  const firstSettings = readSettings(first)!;
  const nc = await connectOnce(
    servers.map((s) => `nats://${s.address}:${s.port}`),
    secretsOf(firstSettings.dataRoot).nkeySeedFile('api'),
    { role: 'gateway', caFile: natsCaFile(firstSettings) },
  );
  try {
    return await scaleStreams(nc, REPLICATED_SERVERS);
  } finally {
    await nc.close();
  }
}
