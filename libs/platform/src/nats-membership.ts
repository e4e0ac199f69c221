import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { InvalidArgumentError } from '@berth/errors';
import { readHostId, type NatsMembersBucket, type NatsRole } from '@berth/events';
import { natsClusterServers } from './nats-cluster.js';
import {
  natsUserEntries,
  renderNatsUser,
  secretsOf,
  writeNatsServerConfig,
  writeSecret,
  type NatsUserEntry,
} from './platform-secrets.js';

/**
 * The membership of a NATS cluster that hosts join with a token (another machine): its servers
 * (where each routes) and the users every server lets in. The first host knows it from its files
 * (nats-cluster.ts); a joining host gets it in its join answer (cluster-join.ts, signed by the CA)
 * and then from KV `nats-members` (written by the first host's gateway after each join or `node
 * rm`, libs/events nats-members-bucket.ts), and writes its own nats-server's config from it
 * (`writeMemberNatsConfig`): its agent watches the bucket and has the server reload (SIGHUP).
 *
 *   <host>/secrets/nats-server.json   this member's own server: address, ports, JetStream store
 *                                     (written at the join; what the membership does not say)
 *   <host>/secrets/nats-routes.json   the routes' credentials (sent sealed with the join answer)
 *
 * Only membership is here: users, routes, the cluster block. Anything else of nats-server.conf
 * (listen address, JetStream, TLS) is writeNatsServerConfig's (platform-secrets.ts).
 */
export interface NatsMembership {
  /** The cluster's first host (its services' permissions are confined to it). */
  firstHostId: string;
  servers: NatsServerAddress[];
  /** Every user but the join token's (only the first host's server answers joins). */
  users: NatsUserEntry[];
}

/** One nats-server of the cluster, as the others reach it. */
export interface NatsServerAddress {
  hostId: string;
  address: string;
  /** Its client port (on `address`). */
  port: number;
  routePort: number;
}

/** A token-joined member's own nats-server (`secrets/nats-server.json`). */
export interface MemberNatsServer extends NatsServerAddress {
  /** JetStream's store directory. */
  storeDir: string;
}

const memberServerFile = (dataRoot: string) => join(secretsOf(dataRoot).dir, 'nats-server.json');
const routesFile = (dataRoot: string) => join(secretsOf(dataRoot).dir, 'nats-routes.json');
const ROLES: NatsRole[] = ['gateway', 'agent', 'registry', 'builder'];

/** The membership of the cluster whose first host has `first` (from its files). */
export function clusterMembership(first: string, firstHostId: string): NatsMembership {
  return {
    firstHostId,
    servers: natsClusterServers(first).map((s) => ({ hostId: s.hostId, address: s.address, port: s.port, routePort: s.routePort })),
    users: natsUserEntries(first, firstHostId, { withJoin: false }),
  };
}

/** The membership checked field by field (what came from NATS): InvalidArgumentError naming the bad one. */
export function checkMembership(value: unknown): NatsMembership {
  const bad = (field: string, v: unknown, expected: string): never => {
    throw new InvalidArgumentError(`Invalid NATS cluster membership: ${field} ${JSON.stringify(v)?.slice(0, 80) ?? 'missing'}: expected ${expected}`);
  };
  const m = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const id = (field: string, v: unknown) => (typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(v) ? v : bad(field, v, 'a host id'));
  const port = (field: string, v: unknown) => (Number.isInteger(v) && (v as number) > 0 && (v as number) < 65536 ? (v as number) : bad(field, v, 'a port'));
  if (!Array.isArray(m.servers) || m.servers.length === 0) bad('servers', m.servers, 'a list of nats-servers');
  if (!Array.isArray(m.users) || m.users.length === 0) bad('users', m.users, 'a list of NATS users');
  const servers = (m.servers as Array<Record<string, unknown>>).map((s, i) => ({
    hostId: id(`servers[${i}].hostId`, s?.hostId),
    address: typeof s?.address === 'string' && isIP(s.address) === 4 ? s.address : bad(`servers[${i}].address`, s?.address, 'an IPv4 address'),
    port: port(`servers[${i}].port`, s?.port),
    routePort: port(`servers[${i}].routePort`, s?.routePort),
  }));
  const users = (m.users as Array<Record<string, unknown>>).map((u, i) => {
    const identity = (u?.identity ?? {}) as Record<string, unknown>;
    const role = ROLES.includes(identity.role as NatsRole) ? (identity.role as NatsRole) : bad(`users[${i}].identity.role`, identity.role, ROLES.join(', '));
    return {
      comment: typeof u?.comment === 'string' ? u.comment.slice(0, 200) : bad(`users[${i}].comment`, u?.comment, 'a text'),
      nkey: typeof u?.nkey === 'string' && /^U[A-Z2-7]{55}$/.test(u.nkey) ? u.nkey : bad(`users[${i}].nkey`, u?.nkey, 'a public NATS user key'),
      identity: role === 'gateway' ? { role } : { role, host: id(`users[${i}].identity.host`, identity.host) },
    };
  });
  return { firstHostId: id('firstHostId', m.firstHostId), servers, users };
}

/** Saves what a token-joined member's own server is (at its join). */
export function saveMemberNatsServer(dataRoot: string, server: MemberNatsServer, routeAuth: { username: string; password: string }): void {
  mkdirSync(secretsOf(dataRoot).dir, { recursive: true, mode: 0o700 });
  writeSecret(memberServerFile(dataRoot), JSON.stringify(server) + '\n');
  writeSecret(routesFile(dataRoot), JSON.stringify({ username: routeAuth.username, password: routeAuth.password }) + '\n');
}

/** Whether `dataRoot` is a token-joined member of a NATS cluster (it has its own server's file). */
export function isNatsMember(dataRoot: string): boolean {
  return existsSync(memberServerFile(dataRoot));
}

/**
 * Writes the nats-server.conf of the token-joined member `dataRoot` for `membership`: its own
 * server (nats-server.json) routed to every server of the membership, letting its users in.
 * @returns whether an existing config changed (the running server must reload it)
 */
export function writeMemberNatsConfig(dataRoot: string, membership: NatsMembership): boolean {
  const own = JSON.parse(readFileSync(memberServerFile(dataRoot), 'utf8')) as MemberNatsServer;
  const auth = JSON.parse(readFileSync(routesFile(dataRoot), 'utf8')) as { username: string; password: string };
  const listen = `${own.address}:${own.routePort}`;
  return writeNatsServerConfig(
    dataRoot,
    {
      port: own.port,
      host: own.address,
      storeDir: own.storeDir,
      hostId: membership.firstHostId,
      cluster: { serverName: own.hostId, listen, routes: [...new Set([listen, ...membership.servers.map((s) => `${s.address}:${s.routePort}`)])], auth },
    },
    membership.users.map(renderNatsUser),
  );
}

/**
 * Writes the membership of the cluster whose first host has `first` to KV `nats-members` (`bucket`,
 * opened as the gateway), unless it holds it already; a cluster without a NATS cluster has none.
 * @returns whether it wrote
 */
export async function publishMembership(bucket: NatsMembersBucket, first: string): Promise<boolean> {
  if (natsClusterServers(first).length === 0) return false;
  return bucket.write(JSON.stringify(clusterMembership(first, readHostId(first))));
}
