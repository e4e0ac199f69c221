import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { nkeys } from 'nats';
import { InvalidArgumentError } from '@berth/errors';
import { natsPermissions, type NatsIdentity } from '@berth/events';
import { natsServerTlsConfig } from './nats-tls.js';
import { secretsOf, writeSecret, type PlatformSecrets } from './secret-files.js';

export { SECRETS_DIR, secretsOf, writeSecret, type PlatformSecrets } from './secret-files.js';

/**
 * The platform's credentials, made at the first `platform up` and readable by root only (the
 * services all run as root):
 *
 *   <dataRoot>/secrets/                   0700
 *     nats/<service>.nk                   0600  the nkey seed (`SU…`) each service authenticates to NATS with
 *     nats-server.conf                    0600  nats-server's configuration: listen address, JetStream store,
 *                                               one user per service (its public nkey + permissions, see
 *                                               libs/events nats-permissions.ts); rewritten at every `up`
 *     registry.htpasswd                   0600  bcrypt hash of the platform registry's password
 *     registry-auth.json                  0600  {"username","password"}: what the agent and the builder push
 *                                               to the platform registry with
 *     nats-routes.json                    0600  {"username","password"}: on a NATS cluster's first host, what
 *                                               its nats-servers route to each other with (nats-cluster.ts)
 *     hosts/<hostId>.json                 0600  on a cluster's first host: the public keys of a host that
 *                                               joined (`platform join`, or `up --join` with a token),
 *                                               let into nats-server with its host's agent and builder
 *                                               permissions
 *     nats/join.nk                        0600  on a first host: the join token's key (`platform join-token`)
 *     tls/                                0700  the cluster CA and this host's certificates (cluster-ca.ts), which
 *                                               nats-server.conf's `tls` blocks name (nats-tls.ts)
 *
 * Seeds go to the services as file paths (`--nats-nkey FILE`), never on a command line. The server
 * config holds only public keys; it is 0600 all the same.
 */
export const REGISTRY_USER = 'berth';
/**
 * bcrypt cost of the platform registry's password hash. bcrypt's cost protects passwords people
 * choose; this one is 256 random bits, which no number of guesses reaches, so the lowest cost does.
 * At cost 10 the registry (run with --lite-mode) took 5.5 s per first check of a credential — a
 * cluster's first image move waited 10–17 s on it (apps/api image-follow.ts).
 */
const REGISTRY_BCRYPT_COST = 4;

/** The NATS identity of each platform service (by its name in compose/platform/compose.yaml). */
export const SERVICE_ROLES: Record<string, NatsIdentity['role']> = {
  api: 'gateway',
  'runtime-agent': 'agent',
  registry: 'registry',
  builder: 'builder',
};



export interface NatsServerConfigOptions {
  port: number;
  /** JetStream's store directory. */
  storeDir: string;
  /** The host id every host service's permissions are confined to. */
  hostId: string;
  /** The address it listens on for clients (default 127.0.0.1). */
  host?: string;
  /** When it is one server of a NATS cluster (nats-cluster.ts). */
  cluster?: NatsClusterConfig;
}

/** A nats-server's part in a NATS cluster. */
export interface NatsClusterConfig {
  /** Its server name (unique in the cluster; JetStream's peer name). */
  serverName: string;
  /** Where it accepts routes from the other servers (`host:port`). */
  listen: string;
  /** Every server's route address (`host:port`), its own included. */
  routes: string[];
  /** The credentials servers route to each other with (nats-routes.json). */
  auth: { username: string; password: string };
}

/** The name of the platform's NATS cluster (nats-server `cluster.name`). */
export const NATS_CLUSTER_NAME = 'berth';

/**
 * Makes whatever credentials are missing and (re)writes nats-server's configuration. Idempotent:
 * existing keys and passwords are kept, so running services stay valid.
 */
export function ensurePlatformSecrets(dataRoot: string, nats: NatsServerConfigOptions): PlatformSecrets {
  const secrets = secretsOf(dataRoot);
  mkdirSync(join(secrets.dir, 'nats'), { recursive: true, mode: 0o700 });
  chmodSync(secrets.dir, 0o700);
  chmodSync(join(secrets.dir, 'nats'), 0o700);
  const changed = writeNatsServerConfig(dataRoot, nats, natsUsers(dataRoot, nats.hostId));
  if (!existsSync(secrets.registryAuth) || !existsSync(secrets.registryHtpasswd)) {
    const password = randomBytes(32).toString('base64url');
    writeSecret(secrets.registryHtpasswd, `${REGISTRY_USER}:${bcrypt.hashSync(password, REGISTRY_BCRYPT_COST)}\n`);
    writeSecret(secrets.registryAuth, JSON.stringify({ username: REGISTRY_USER, password }) + '\n');
  } else if (!readFileSync(secrets.registryHtpasswd, 'utf8').includes(`$${String(REGISTRY_BCRYPT_COST).padStart(2, '0')}$`)) {
    // Made by an older Berth with cost 10: the same password, hashed again at the platform's cost.
    const { password } = JSON.parse(readFileSync(secrets.registryAuth, 'utf8')) as { password: string };
    writeSecret(secrets.registryHtpasswd, `${REGISTRY_USER}:${bcrypt.hashSync(password, REGISTRY_BCRYPT_COST)}\n`);
  }
  return { ...secrets, natsConfigChanged: changed };
}

/** One NATS user of the cluster: a service's public nkey and what it may do (its identity's permissions). */
export interface NatsUserEntry {
  /** Who it is, as the config's comment says (`runtime-agent of host h2`). */
  comment: string;
  nkey: string;
  identity: NatsIdentity;
}

/**
 * The NATS users of a cluster whose first host has `firstDataRoot` (its keys made when missing):
 * each of its services, the join token's key (unless `withJoin` is false: only the first host's
 * nats-server answers joins), and the agent and builder of every host that joined it. Every
 * nats-server of the cluster lets the same users in.
 */
export function natsUserEntries(firstDataRoot: string, firstHostId: string, options: { withJoin?: boolean } = {}): NatsUserEntry[] {
  const secrets = secretsOf(firstDataRoot);
  mkdirSync(join(secrets.dir, 'nats'), { recursive: true, mode: 0o700 });
  const users: NatsUserEntry[] = [];
  for (const [service, role] of Object.entries(SERVICE_ROLES)) {
    const publicKey = ensureServiceKey(secrets.nkeySeedFile(service));
    users.push({ comment: service, nkey: publicKey, identity: role === 'gateway' ? { role } : { role, host: firstHostId } });
  }
  // The join token's key (`berth platform join-token`, cluster-admission.ts), once one was made:
  // it may only ask the gateway to join (libs/events nats-permissions.ts, role `join`).
  if (options.withJoin !== false && existsSync(secrets.nkeySeedFile('join'))) {
    users.push({ comment: 'join token', nkey: ensureServiceKey(secrets.nkeySeedFile('join')), identity: { role: 'join' } });
  }
  // The hosts that joined this one's cluster (platform-join.ts): their agent's and builder's keys.
  for (const host of joinedHosts(firstDataRoot)) {
    users.push({ comment: `runtime-agent of host ${host.hostId}`, nkey: host.agent, identity: { role: 'agent', host: host.hostId } });
    users.push({ comment: `builder of host ${host.hostId}`, nkey: host.builder, identity: { role: 'builder', host: host.hostId } });
  }
  return users;
}

/** The users of natsUserEntries as nats-server.conf lines. */
export function natsUsers(firstDataRoot: string, firstHostId: string): string[] {
  return natsUserEntries(firstDataRoot, firstHostId).map(renderNatsUser);
}

/**
 * Writes `<dataRoot>/secrets/nats-server.conf` (0600) for `nats` and `users`.
 * @returns whether an existing config changed (a running server must reload it).
 */
export function writeNatsServerConfig(dataRoot: string, nats: NatsServerConfigOptions, users: string[]): boolean {
  const secrets = secretsOf(dataRoot);
  mkdirSync(secrets.dir, { recursive: true, mode: 0o700 });
  const cluster = nats.cluster;
  const tls = natsServerTlsConfig(secrets.dir, { cluster: cluster !== undefined });
  const config = [
    '# Written by `berth platform up` (libs/platform/src/platform-secrets.ts) at every start: edits are lost.',
    ...(cluster ? [`server_name: ${JSON.stringify(cluster.serverName)}`] : []),
    `listen: "${nats.host ?? '127.0.0.1'}:${nats.port}"`,
    `jetstream { store_dir: ${JSON.stringify(nats.storeDir)} }`,
    ...tls.client,
    ...(cluster
      ? [
          '# One server of the platform\'s NATS cluster (nats-cluster.ts): routes authenticate with nats-routes.json.',
          'cluster {',
          `  name: ${NATS_CLUSTER_NAME}`,
          `  listen: ${JSON.stringify(cluster.listen)}`,
          `  authorization { user: ${JSON.stringify(cluster.auth.username)}, password: ${JSON.stringify(cluster.auth.password)} }`,
          `  routes: ${JSON.stringify(cluster.routes.map((r) => `nats-route://${encodeURIComponent(cluster.auth.username)}:${encodeURIComponent(cluster.auth.password)}@${r}`))}`,
          ...tls.route,
          '}',
        ]
      : []),
    '# Every connection authenticates with the nkey of one platform service; nothing else is let in.',
    'authorization {',
    '  users = [',
    ...users,
    '  ]',
    '}',
    '',
  ].join('\n');
  const before = existsSync(secrets.natsConfig) ? readFileSync(secrets.natsConfig, 'utf8') : undefined;
  if (before !== config) writeSecret(secrets.natsConfig, config);
  return before !== undefined && before !== config;
}

/** Makes the nkey seed file if missing and returns its public key. */
export function ensureServiceKey(file: string): string {
  if (!existsSync(file)) writeSecret(file, new TextDecoder().decode(nkeys.createUser().getSeed()) + '\n');
  const seed = readFileSync(file, 'utf8').trim();
  try {
    return nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  } catch (err) {
    throw new InvalidArgumentError(`Invalid NATS key in "${file}": remove it and run \`berth platform up\` again to make a new one`, { cause: err });
  }
}

/** One user of nats-server's `authorization.users`: its nkey and its identity's permissions (libs/events nats-permissions.ts). */
export function renderNatsUser(user: NatsUserEntry): string {
  const permissions = natsPermissions(user.identity);
  return `    # ${user.comment.replace(/[\r\n]/g, ' ')}\n    { nkey: ${JSON.stringify(user.nkey)}, permissions: { publish: { allow: ${JSON.stringify(permissions.publish)} }, subscribe: { allow: ${JSON.stringify(permissions.subscribe)} } } }`;
}

/** A host that joined the cluster: `<secrets>/hosts/<hostId>.json`, written by `platform join` or the gateway (a token join). */
export interface JoinedHost {
  hostId: string;
  /** Its data root (on this machine: where its nats-server's config is kept up to date). */
  dataRoot?: string;
  /** Joined with a token (another machine): its address and node name as it asked. */
  address?: string;
  nodeName?: string;
  /** Joined with a token to a NATS cluster: the client and route ports of its nats-server (on `address`). */
  natsPort?: number;
  natsRoutePort?: number;
  /** Public nkeys of its runtime agent and builder. */
  agent: string;
  builder: string;
}

/** Records a joined host's public keys in the first host's secrets (nats-server lets it in at the next config write). */
export function recordJoinedHost(clusterDataRoot: string, host: JoinedHost): void {
  const dir = join(secretsOf(clusterDataRoot).dir, 'hosts');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeSecret(join(dir, `${host.hostId}.json`), JSON.stringify(host) + '\n');
}

/** Forgets a joined host (`node rm`): its services can no longer authenticate once nats-server reloads. */
export function forgetJoinedHost(clusterDataRoot: string, hostId: string): void {
  rmSync(join(secretsOf(clusterDataRoot).dir, 'hosts', `${hostId}.json`), { force: true });
}

/** The hosts that joined the cluster whose first host has `firstDataRoot`, by host id. */
export function joinedHosts(firstDataRoot: string): JoinedHost[] {
  const dir = join(secretsOf(firstDataRoot).dir, 'hosts');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as JoinedHost);
}

/** The platform registry's credentials (`registry-auth.json`), for the agent and the builder. */
export function readRegistryAuth(file: string): { username: string; password: string } {
  let parsed: { username?: unknown; password?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`Cannot read the platform registry's credentials "${file}": ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
    throw new InvalidArgumentError(`Invalid platform registry credentials "${file}": expected {"username": "...", "password": "..."}`);
  }
  return { username: parsed.username, password: parsed.password };
}

