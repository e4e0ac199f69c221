import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '@berth/errors';
import { readHostId } from '@berth/events';
import { chooseRegistryPort, freeLoopbackPort } from './loopback-ports.js';
import type { LogLevel } from '@berth/log';

export const DEFAULT_DATA_ROOT = '/var/lib/berth';
export const DEFAULT_RUN_ROOT = '/run/berth';

/** TLS files of a gateway that serves TCP (docker's --tlsverify --tlscacert --tlscert --tlskey). */
export interface ApiTls {
  /** CA certificate clients' certificates must be signed by. */
  ca: string;
  /** The gateway's certificate and key. */
  cert: string;
  key: string;
}

export interface PlatformOptions {
  dataRoot?: string;
  /** Defaults to /run/berth for the default data root, `<dataRoot>/run` otherwise. */
  runRoot?: string;
  /**
   * Gateway address; default unix:<runRoot>/api.sock. A TCP address (`tcp://host:port`, `host:port`)
   * needs `tls`: the gateway refuses TCP without client certificates.
   */
  apiAddress?: string;
  /** TLS for a TCP gateway; `null` removes a saved one. */
  tls?: ApiTls | null;
  /** A group whose members may use the gateway socket (0660 root:group), as docker's `docker` group; '' for none. */
  group?: string;
  /**
   * The registry's port on 127.0.0.1. Default: the saved one, else 5000 when free, else the next
   * free port (loopback-ports.ts); `0` picks any free port (what tests do, so that platforms started
   * side by side do not race for 5000).
   */
  registryPort?: number;
  /** Let anyone push to and delete from the platform registry (default: the platform's credentials only). */
  registryAnonymousPush?: boolean;
  runtime?: 'runc' | 'crun';
  /** The services' `--log-level`; unset, they follow BERTH_LOG_LEVEL, else info. Kept in platform.json. */
  logLevel?: LogLevel;
  /**
   * Join the cluster whose first host has this data root (`berth platform join`): start only this
   * host's agent and builder, on that host's NATS, registry and gateway (platform-join.ts).
   */
  join?: string;
  /**
   * `platform up --join nats://HOST:PORT[,…]`: join the cluster whose first host's nats-server is
   * there, on another machine, with `joinToken` (cluster-join.ts). Needs `address`. Kept in platform.json.
   */
  joinNats?: string[];
  /** The cluster's join token (`berth platform join-token` on its first host); never saved. */
  joinToken?: string;
  /** This host's node name in the cluster (default the machine's hostname). */
  nodeName?: string;
  /** This host's node labels (`--label k=v`), which placement constraints match. */
  labels?: Record<string, string>;
  /**
   * This host's address on the network between the cluster's hosts (an IPv4 address): its
   * nats-server and registry listen there and the other hosts reach them there. Default: loopback
   * only (one machine). Kept in platform.json.
   */
  address?: string;
  /**
   * Run every service of this host in the named network namespace (`/run/netns/<netns>`):
   * libs/testing's test hosts (netns-command.ts says how). Kept in platform.json.
   */
  netns?: string;
  /**
   * `platform up --nats-cluster`: this first host's nats-server accepts routes (on `address`), and
   * every host that joins runs a nats-server of its own routed to it (nats-cluster.ts). JetStream
   * needs 2 servers to start; with 3 its streams are replicated 3 times.
   */
  natsCluster?: boolean;
  /** How long `up` waits for every service to answer. */
  timeoutMs?: number;
}

export interface PlatformSettings {
  dataRoot: string;
  runRoot: string;
  /** This host's id (`<dataRoot>/host-id`): the agent's NATS identity and subjects. */
  hostId: string;
  natsPort: number;
  /** The registry's HTTP port on 127.0.0.1 (its admin gRPC API is on unix:<runRoot>/registry.sock). */
  registryPort: number;
  apiAddress: string;
  tls?: ApiTls;
  /** Group of the gateway socket; undefined: root only. */
  group?: string;
  registryAnonymousPush: boolean;
  agentAddress: string;
  runtime: string;
  /** The services' `--log-level`, when `up` was given one. */
  logLevel?: LogLevel;
  /** The data root of the cluster's first host, for a host that joined it. */
  cluster?: string;
  nodeName?: string;
  labels?: Record<string, string>;
  /** This host's address between hosts (its nats-server and registry listen there); unset: 127.0.0.1. */
  address?: string;
  /** The named network namespace its services run in. */
  netns?: string;
  /** The route port of this host's nats-server when it is one of a NATS cluster (nats-cluster.ts). */
  natsRoutePort?: number;
  /** For a host that joined: the first host's address (its registry; its nats-server without a NATS cluster); unset: 127.0.0.1. */
  firstHostAddress?: string;
  /** For a host that joined with a join token (another machine): the cluster's NATS URLs (`--join`). */
  joinedNats?: string[];
  /**
   * The TCP ports (on `address`) its agent and builder also serve on with mutual TLS, for the
   * gateway of another machine (cluster-ca.ts): set for a host with an address that is a first host
   * or joined with a token.
   */
  agentTlsPort?: number;
  builderTlsPort?: number;
}

/** Whether the host joined a cluster (`platform join --cluster`, or `up --join` with a token). */
export function isJoinedHost(settings: PlatformSettings): boolean {
  return settings.cluster !== undefined || settings.joinedNats !== undefined;
}

/** The settings of a data root: read from its platform.json, or chosen (free ports) and saved. */
export async function platformSettings(options: PlatformOptions = {}): Promise<PlatformSettings> {
  const settings = await resolvePlatformSettings(options);
  savePlatformSettings(settings);
  return settings;
}

/**
 * The settings `up` saved in a data root's platform.json, as they are (undefined when it has none).
 * What `down` stops by: unlike platformSettings, it reads neither the first host of a `--cluster`
 * join (that data root may be gone: its machine died, or it was taken down and removed first) nor
 * chooses anything.
 */
export function savedPlatformSettings(options: PlatformOptions = {}): PlatformSettings | undefined {
  const saved = readSaved(resolve(options.dataRoot ?? DEFAULT_DATA_ROOT)) as PlatformSettings | undefined;
  if (saved === undefined) return undefined;
  return options.runRoot !== undefined ? { ...saved, runRoot: options.runRoot } : saved;
}

/** `<dataRoot>/platform.json` as `up` saved it, undefined when there is none. */
function readSaved(dataRoot: string): Partial<PlatformSettings> | undefined {
  const file = join(dataRoot, 'platform.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<PlatformSettings>) : undefined;
}

/** Writes `<dataRoot>/platform.json`. */
export function savePlatformSettings(settings: PlatformSettings): void {
  writeFileSync(join(settings.dataRoot, 'platform.json'), JSON.stringify(settings, null, 2) + '\n', { mode: 0o600 });
}

/** The settings `options` make of the saved ones, not saved yet (`up` checks them first). */
export async function resolvePlatformSettings(options: PlatformOptions = {}): Promise<PlatformSettings> {
  const dataRoot = resolve(options.dataRoot ?? DEFAULT_DATA_ROOT);
  const file = join(dataRoot, 'platform.json');
  const saved: Partial<PlatformSettings> = readSaved(dataRoot) ?? {};
  const runRoot = options.runRoot ?? saved.runRoot ?? (dataRoot === DEFAULT_DATA_ROOT ? DEFAULT_RUN_ROOT : join(dataRoot, 'run'));
  const cluster = options.join !== undefined ? resolve(options.join) : saved.cluster;
  const joinedNats = options.joinNats ?? saved.joinedNats;
  if (joinedNats !== undefined && cluster !== undefined) throw new InvalidArgumentError('Cannot join by --join URL and by --cluster data root at once');
  if (options.joinNats !== undefined && saved.joinedNats === undefined && existsSync(file)) {
    throw new InvalidArgumentError(`Cannot join a cluster with "${dataRoot}": it is a platform already (${file}): use a new --data-root`);
  }
  const first: Partial<PlatformSettings> = cluster !== undefined ? readClusterSettings(cluster, dataRoot) : {};
  mkdirSync(dataRoot, { recursive: true });
  const group = options.group ?? saved.group;
  const address = options.address ?? saved.address;
  const netns = options.netns ?? saved.netns;
  // In a NATS cluster (the first host made with natsCluster) every host has a nats-server of its own.
  const clustered = cluster !== undefined ? first.natsRoutePort !== undefined : (options.natsCluster ?? saved.natsRoutePort !== undefined);
  const tls = options.tls === null ? undefined : (options.tls ?? saved.tls);
  const settings: PlatformSettings = {
    dataRoot,
    runRoot,
    hostId: readHostId(dataRoot),
    natsPort: (clustered ? undefined : first.natsPort) ?? (joinedNats ? natsUrlPort(joinedNats[0]!) : undefined) ?? saved.natsPort ?? (await freeLoopbackPort()),
    ...(clustered ? { natsRoutePort: saved.natsRoutePort ?? (await freeLoopbackPort()) } : {}),
    registryPort:
      first.registryPort ??
      (options.registryPort === 0 ? await freeLoopbackPort() : (options.registryPort ?? saved.registryPort ?? (await chooseRegistryPort()))),
    apiAddress: first.apiAddress ?? options.apiAddress ?? saved.apiAddress ?? `unix:${join(runRoot, 'api.sock')}`,
    ...(tls ? { tls } : {}),
    ...(group ? { group } : {}),
    registryAnonymousPush: options.registryAnonymousPush ?? saved.registryAnonymousPush ?? false,
    agentAddress: saved.agentAddress ?? `unix:${join(runRoot, 'agent.sock')}`,
    runtime: options.runtime ?? saved.runtime ?? 'runc',
    ...((options.logLevel ?? saved.logLevel) ? { logLevel: options.logLevel ?? saved.logLevel } : {}),
    ...(cluster !== undefined ? { cluster } : {}),
    ...((options.nodeName ?? saved.nodeName) ? { nodeName: options.nodeName ?? saved.nodeName } : {}),
    ...((options.labels ?? saved.labels) ? { labels: options.labels ?? saved.labels } : {}),
    ...(address !== undefined ? { address } : {}),
    ...(netns !== undefined ? { netns } : {}),
    ...(first.address !== undefined ? { firstHostAddress: first.address } : saved.firstHostAddress !== undefined && joinedNats ? { firstHostAddress: saved.firstHostAddress } : {}),
    ...(joinedNats !== undefined ? { joinedNats } : {}),
    // Another machine's gateway reaches this host's agent and builder over TCP with mutual TLS.
    ...(address !== undefined && cluster === undefined
      ? { agentTlsPort: saved.agentTlsPort ?? (await freeLoopbackPort()), builderTlsPort: saved.builderTlsPort ?? (await freeLoopbackPort()) }
      : {}),
  };
  return settings;
}

/** The port of a `nats://HOST:PORT` URL (cluster-join.ts checked it). */
function natsUrlPort(url: string): number {
  return Number(new URL(url).port);
}

/** The settings of the cluster's first host (its platform.json), which a joining host shares ports with. */
function readClusterSettings(cluster: string, dataRoot: string): Partial<PlatformSettings> {
  if (cluster === dataRoot) throw new InvalidArgumentError(`Cannot join the cluster of "${cluster}": it is this host's own data root`);
  const file = join(cluster, 'platform.json');
  if (!existsSync(file)) {
    throw new InvalidArgumentError(`Cannot join the cluster of "${cluster}": no platform there (no ${file}): run \`berth platform up\` there first`);
  }
  const first = JSON.parse(readFileSync(file, 'utf8')) as Partial<PlatformSettings>;
  if (first.cluster !== undefined) {
    throw new InvalidArgumentError(`Cannot join the cluster of "${cluster}": that host joined "${first.cluster}" itself: join that one`);
  }
  return first;
}

/** True for a gateway address that is not a unix socket. */
export function isTcpAddress(address: string): boolean {
  return !address.startsWith('unix:');
}

/**
 * Checks what `up` would start with: a TCP gateway needs TLS with client certificates (readable
 * files), a group must exist. InvalidArgumentError naming the setting otherwise.
 */
export function checkSettings(settings: PlatformSettings): void {
  if (isTcpAddress(settings.apiAddress)) {
    if (!settings.tls) {
      throw new InvalidArgumentError(
        `Refusing to serve the API on TCP "${settings.apiAddress}" without TLS client certificates: add --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY, or use a unix socket`,
      );
    }
    for (const [flag, path] of [['--tlscacert', settings.tls.ca], ['--tlscert', settings.tls.cert], ['--tlskey', settings.tls.key]] as const) {
      if (!existsSync(path)) throw new InvalidArgumentError(`Invalid ${flag} "${path}": no such file`);
    }
  }
  if (settings.group !== undefined) groupId(settings.group);
  if (settings.address !== undefined && isIP(settings.address) !== 4) {
    throw new InvalidArgumentError(`Invalid --address "${settings.address}": expected this host's IPv4 address`);
  }
  if (settings.joinedNats !== undefined && settings.address === undefined) {
    throw new InvalidArgumentError("--join needs --address: this host's IPv4 address, where the cluster's gateway reaches its agent and builder");
  }
  if (settings.netns !== undefined && !existsSync(join('/run/netns', settings.netns))) {
    throw new InvalidArgumentError(`Invalid network namespace "${settings.netns}": no /run/netns/${settings.netns} (ip netns add ${settings.netns})`);
  }
}

/** The gid of group `name` (from /etc/group); InvalidArgumentError when there is none. */
export function groupId(name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === name);
  if (line === undefined) throw new InvalidArgumentError(`Unknown group "${name}": create it first (groupadd ${name})`);
  return Number(line.split(':')[2]);
}
