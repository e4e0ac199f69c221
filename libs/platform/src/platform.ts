import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, UnavailableError } from '@berth/errors';
import { SystemClient, channelOptions, grpcTarget } from '@berth/proto';
import { isLoopbackPortFree } from './loopback-ports.js';
import { loadPlatformFile, type PlatformService } from './platform-file.js';
import { bootstrapJoins, type BootstrapJoins } from './bootstrap-joins.js';
export { reloadNatsServer } from './nats-reload.js';
import { firstDataRoot, firstHostAddress, firstHostNatsOptions, hostAddress, natsClusterServers, natsUrls, scalePlatformStreams, waitJetStream, writeMemberNatsConfigs } from './nats-cluster.js';
import { ensureSharedMount, netnsCommand } from './netns-command.js';
import { reserveNetnsPorts } from './netns-ports.js';
import { clusterTlsOf, ensureClusterCa } from './cluster-ca.js';
import { platformRegistryTls } from './registry-tls.js';
import { joinByToken, joinedByToken } from './cluster-join.js';
import { ensureNatsTls, natsCaFile } from './nats-tls.js';
import { prepareJoin, waitNatsAdmits } from './platform-join.js';
import { ensurePlatformSecrets, secretsOf } from './platform-secrets.js';
import {
  checkSettings,
  isJoinedHost,
  platformSettings,
  resolvePlatformSettings,
  savedPlatformSettings,
  savePlatformSettings,
  type PlatformOptions,
  type PlatformSettings,
} from './platform-settings.js';
import { commandLineOf, isAlive, isRunning, sameProgram } from './process-liveness.js';
import { serviceEntry } from './service-entry.js';

/**
 * Starts and stops this host's platform processes (nats-server, runtime agent, gateway, registry) in the
 * background, as `compose/platform/compose.yaml` describes them.
 *
 *   <dataRoot>/platform.json          the settings of this data root (ports, addresses), kept across restarts
 *   <dataRoot>/secrets/               credentials and nats-server's config (platform-secrets.ts), root only
 *   <dataRoot>/logs/<service>.log     each service's output
 *   <runRoot>/platform/<svc>.pid      the pid of each running service
 *   <runRoot>/platform/<svc>.cmdline  the argv it was started with (NUL-separated): a pid counts as the
 *                                     service only while /proc/<pid>/cmdline still says the same
 */
export interface ServiceStatus {
  name: string;
  pid?: number;
  running: boolean;
  healthy: boolean;
  log: string;
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * V8 flags of the registry, measured in apps/registry/README.md ("Memory and CPU"): a 1 MiB young
 * generation and no optimizing compiler keep what it holds after a large transfer near its idle
 * size; its throughput is native code (hashing, file and socket I/O), which they do not slow.
 * `--no-expose-wasm` only silences V8's warning that lite mode turns WebAssembly off.
 */
export const REGISTRY_NODE_FLAGS = ['--lite-mode', '--max-semi-space-size=1', '--no-expose-wasm'];
/**
 * V8 flags of the other Node services (bench/README.md, "Services"): a young generation of 1–2 MiB
 * instead of 16 keeps each near its idle size after a burst of requests (they hold little between
 * requests; their heavy work is native: runc, tar, hashing, sockets). The compose watcher, which
 * only reconciles now and then, also runs without the optimizing compilers, as the registry does.
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=2'];
export const WATCHER_NODE_FLAGS = ['--lite-mode', '--max-semi-space-size=1', '--no-expose-wasm'];
const PLATFORM_FILE = join(REPO_ROOT, 'compose/platform/compose.yaml');
/** What a host that joined a cluster runs (its agent and builder). */
const NODE_FILE = join(REPO_ROOT, 'compose/platform/node.yaml');

function services(settings: PlatformSettings): PlatformService[] {
  const secrets = secretsOf(settings.dataRoot);
  const apiFlags = [
    ...(settings.group ? [`--group=${settings.group}`] : []),
    ...(settings.tls ? ['--tlsverify', `--tlscacert=${settings.tls.ca}`, `--tlscert=${settings.tls.cert}`, `--tlskey=${settings.tls.key}`] : []),
  ];
  // Another machine's gateway reaches the agent and builder on TCP with mutual TLS (cluster-ca.ts).
  const tls = clusterTlsOf(secrets.dir);
  const tlsFlags = (port: number | undefined) =>
    port !== undefined ? [`--tls-listen=${hostAddress(settings)}:${port}`, `--tlscacert=${tls.ca}`, `--tlscert=${tls.cert}`, `--tlskey=${tls.key}`] : [];
  const agentFlags = [
    ...(settings.nodeName ? [`--node-name=${settings.nodeName}`] : []),
    ...Object.entries(settings.labels ?? {}).map(([k, v]) => `--label=${k}=${v}`),
    ...tlsFlags(settings.agentTlsPort),
    // A token-joined member of a NATS cluster: its agent keeps its nats-server's users and routes
    // as KV `nats-members` says (apps/runtime-agent nats-config-watcher.ts).
    ...(settings.joinedNats !== undefined && settings.natsRoutePort !== undefined
      ? [`--nats-config=${secrets.natsConfig}`, `--nats-pid=${pidFile(settings, 'nats')}`]
      : []),
  ];
  // The first host's gateway: its client certificate, and the CA that signs joining hosts' CSRs.
  if (!isJoinedHost(settings) && settings.agentTlsPort !== undefined) apiFlags.push(`--cluster-secrets=${secrets.dir}`);
  const registryAddress = `${firstHostAddress(settings)}:${settings.registryPort}`;
  const loaded = loadPlatformFile(isJoinedHost(settings) ? NODE_FILE : PLATFORM_FILE, {
    ROOT: REPO_ROOT,
    DATA_ROOT: settings.dataRoot,
    RUN_ROOT: settings.runRoot,
    SECRETS: secrets.dir,
    HOST_ID: settings.hostId,
    NATS_ADDRESS: `${hostAddress(settings)}:${settings.natsPort}`,
    NATS_URLS: natsUrls(settings),
    NATS_TLS_FLAGS: natsCaFile(settings) !== undefined ? [`--nats-ca=${natsCaFile(settings)}`] : [],
    REGISTRY_ADDRESS: registryAddress,
    ...registryTlsVariables(settings),
    REGISTRY_AUTH: settings.registryAnonymousPush ? 'none' : 'basic',
    API_ADDRESS: settings.apiAddress,
    API_FLAGS: apiFlags,
    AGENT_ADDRESS: settings.agentAddress,
    AGENT_FLAGS: agentFlags,
    BUILDER_FLAGS: tlsFlags(settings.builderTlsPort),
    RUNTIME: settings.runtime,
    LOG_LEVEL: settings.logLevel ? [`--log-level=${settings.logLevel}`] : [],
    RUNTIME_AGENT: serviceEntry(REPO_ROOT, 'apps/runtime-agent/src/main.ts', SERVICE_NODE_FLAGS),
    BUILDER: serviceEntry(REPO_ROOT, 'apps/builder/src/main.ts', SERVICE_NODE_FLAGS),
    API: serviceEntry(REPO_ROOT, 'apps/api/src/main.ts', SERVICE_NODE_FLAGS),
    COMPOSE_WATCHER: serviceEntry(REPO_ROOT, 'compose/src/watcher-main.ts', WATCHER_NODE_FLAGS),
    REGISTRY: serviceEntry(REPO_ROOT, 'apps/registry/src/main.ts', REGISTRY_NODE_FLAGS),
  });
  // A joined host runs a nats-server of its own only in a NATS cluster; else it uses the first host's.
  if (!isJoinedHost(settings) || settings.natsRoutePort !== undefined) return loaded;
  return loaded.filter((svc) => svc.name !== 'nats').map((svc) => ({ ...svc, dependsOn: svc.dependsOn.filter((d) => d !== 'nats') }));
}

/**
 * REGISTRY_FLAGS (the agent's and builder's: the CA they trust the registry's HTTPS with) and
 * REGISTRY_TLS (the registry's certificate) of a registry off loopback (registry-tls.ts).
 */
function registryTlsVariables(settings: PlatformSettings): { REGISTRY_FLAGS: string[]; REGISTRY_TLS: string[] } {
  const tls = platformRegistryTls(settings);
  return {
    REGISTRY_FLAGS: tls.ca !== undefined ? [`--platform-registry-ca=${tls.ca}`] : [],
    REGISTRY_TLS: tls.serve !== undefined ? [`--tls-cert=${tls.serve.cert}`, `--tls-key=${tls.serve.key}`] : [],
  };
}

const pidFile = (s: PlatformSettings, name: string) => join(s.runRoot, 'platform', `${name}.pid`);
const cmdlineFile = (s: PlatformSettings, name: string) => join(s.runRoot, 'platform', `${name}.cmdline`);
const logFile = (s: PlatformSettings, name: string) => join(s.dataRoot, 'logs', `${name}.log`);

/**
 * The pid of service `svc` when it runs: the pid file names a live process (not a zombie) whose
 * command line is the one recorded when it was started (not a pid reused by another process).
 */
function runningPid(settings: PlatformSettings, svc: PlatformService): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(settings, svc.name), 'utf8').trim());
    if (!(pid > 0)) return undefined;
    if (existsSync(cmdlineFile(settings, svc.name))) {
      return isRunning(pid, readFileSync(cmdlineFile(settings, svc.name), 'utf8').split('\0')) ? pid : undefined;
    }
    // Started by a Berth that kept no command line: the same program (binary and script) will do.
    return isAlive(pid) && sameProgram(commandLineOf(pid) ?? [], svc.command) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts every service that is not running yet, in dependency order, and returns once all of them
 * answer their health check. Idempotent: running services are left alone, unless the settings
 * changed their command line (then they are restarted) or nats-server's users (it reloads them).
 */
export async function platformUp(options: PlatformOptions = {}, log: (line: string) => void = () => {}): Promise<PlatformSettings> {
  const settings = await resolvePlatformSettings(options);
  checkSettings(settings); // a refused setting is not saved: the next `up` or `down` sees the old ones
  await checkRegistryPort(settings);
  const timeoutMs = options.timeoutMs ?? 60_000;
  if (settings.joinedNats !== undefined && !joinedByToken(settings)) {
    // Another machine joining: nothing is saved or started unless the cluster lets it in (cluster-join.ts).
    const hostIdFile = join(settings.dataRoot, 'host-id');
    try {
      if (options.joinToken === undefined) throw new InvalidArgumentError('Joining a cluster needs its join token: --token, or BERTH_JOIN_TOKEN (`berth platform join-token` on its first host)');
      const { registryAddress } = await joinByToken(settings, options.joinToken, { timeoutMs });
      settings.firstHostAddress = registryAddress.slice(0, registryAddress.lastIndexOf(':'));
      settings.registryPort = Number(registryAddress.slice(registryAddress.lastIndexOf(':') + 1));
    } catch (err) {
      // A refused join leaves no identity behind: the next try is a new host to the cluster.
      if (!existsSync(join(settings.dataRoot, 'platform.json'))) rmSync(hostIdFile, { force: true });
      throw err;
    }
    log(`Joined the cluster at ${settings.joinedNats.join(',')} as host ${settings.hostId}`);
  }
  savePlatformSettings(settings);
  mkdirSync(join(settings.runRoot, 'platform'), { recursive: true });
  mkdirSync(join(settings.dataRoot, 'logs'), { recursive: true });
  if (settings.netns !== undefined) {
    ensureSharedMount(settings.dataRoot); // netns-command.ts says why
    // Before any service of the namespace opens a connection that could take one as its source port.
    reserveNetnsPorts(settings.netns, [settings.natsPort, settings.natsRoutePort, settings.agentTlsPort, settings.builderTlsPort, settings.registryPort].filter((p) => p !== undefined));
  }
  // A first host with an address: the cluster CA, its gateway's and its own certificates (cluster-ca.ts),
  // then the files of NATS's TLS (nats-tls.ts), which nats-server's config names.
  if (!isJoinedHost(settings) && settings.agentTlsPort !== undefined) await ensureClusterCa(secretsOf(settings.dataRoot).dir, { hostId: settings.hostId, address: hostAddress(settings) });
  await ensureNatsTls(settings);
  const secrets =
    settings.joinedNats !== undefined
      ? { natsConfigChanged: false } // its files came with the join; it runs no nats-server
      : settings.cluster === undefined
      ? ensurePlatformSecrets(settings.dataRoot, firstHostNatsOptions(settings))
      : await joinCluster(settings, timeoutMs);
  // As Compose does: each service starts once every service it depends on answers, so services
  // that do not depend on each other start side by side (the agent and the registry, then the
  // builder and the gateway). A service whose dependency failed is not started.
  const started = new Map<string, Promise<void>>();
  // A NATS cluster's first host with an address answers joins while its JetStream waits for a second server.
  let joins: BootstrapJoins | undefined;
  const beforeJetStream =
    !isJoinedHost(settings) && settings.natsRoutePort !== undefined && settings.agentTlsPort !== undefined
      ? () => {
          joins = bootstrapJoins(settings, log);
          if (natsClusterServers(settings.dataRoot).length < 2) {
            log('Waiting for JetStream, which needs a second nats-server: `berth platform join-token` here, then `berth platform up --join … --token …` on another host');
          }
        }
      : undefined;
  try {
    for (const svc of services(settings)) {
      const deps = svc.dependsOn.map((name) => started.get(name)!);
      started.set(
        svc.name,
        Promise.all(deps).then(() => startService(svc, settings, { natsConfigChanged: secrets.natsConfigChanged, timeoutMs, log, beforeJetStream })),
      );
    }
    const failed = (await Promise.allSettled(started.values())).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    // The gateway answers joins from now on (or `up` failed): the same queue group, nothing is lost.
    await joins?.close();
  }
  if (settings.natsRoutePort !== undefined) {
    const scaled = await scalePlatformStreams(settings);
    if (scaled.length > 0) log(`Replicated ${scaled.join(', ')} on 3 nats-servers`);
  }
  return settings;
}

/** Starts `svc` unless it runs already (restarting it when its command line changed), and waits until it answers. */
async function startService(
  svc: PlatformService,
  settings: PlatformSettings,
  options: { natsConfigChanged?: boolean; timeoutMs: number; log: (line: string) => void; beforeJetStream?: () => void },
): Promise<void> {
  let pid = runningPid(settings, svc);
  if (pid !== undefined && existsSync(cmdlineFile(settings, svc.name)) && readFileSync(cmdlineFile(settings, svc.name), 'utf8') !== svc.command.join('\0')) {
    // Its settings changed (a --group, anonymous pushes, …): like `compose up`, replace it.
    await stopService(pid);
    options.log(`Stopped ${svc.name} (pid ${pid}) to apply new settings`);
    pid = undefined;
  } else if (pid !== undefined && svc.name === 'nats' && options.natsConfigChanged) {
    process.kill(pid, 'SIGHUP'); // nats-server reloads its users and permissions
    options.log(`Reloaded ${svc.name}'s configuration`);
  }
  if (pid === undefined) {
    const out = openSync(logFile(settings, svc.name), 'a', 0o600);
    // In a netns the wrapper execs the service: the pid and its command line are the service's.
    const command = settings.netns !== undefined ? netnsCommand(settings.netns, svc.command) : svc.command;
    const child = spawn(command[0]!, command.slice(1), {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, TSX_TSCONFIG_PATH: join(REPO_ROOT, 'tsconfig.json') },
    });
    closeSync(out);
    const spawnError = new Promise<Error>((r) => child.once('error', r));
    child.unref();
    pid = child.pid;
    if (pid === undefined) throw new UnavailableError(`Cannot start ${svc.name}: ${(await spawnError).message}`);
    writeFileSync(cmdlineFile(settings, svc.name), svc.command.join('\0'));
    writeFileSync(pidFile(settings, svc.name), `${pid}\n`);
    options.log(`Started ${svc.name} (pid ${pid})`);
  }
  await waitHealthy(svc, settings, pid, options.timeoutMs);
  // A clustered JetStream answers once a quorum of servers route to each other (nats-cluster.ts).
  if (svc.name === 'nats' && settings.natsRoutePort !== undefined) {
    options.beforeJetStream?.();
    await waitJetStream(settings, options.timeoutMs);
  }
}

/**
 * A joining host: its keys are let into the cluster's nats-servers (which reload their config)
 * before its agent starts (platform-join.ts); in a NATS cluster, every server's routes now include
 * this host's own server, whose config is written here too (nats-cluster.ts).
 */
async function joinCluster(settings: PlatformSettings, timeoutMs: number): Promise<{ natsConfigChanged: boolean }> {
  const cluster = await resolvePlatformSettings({ dataRoot: settings.cluster });
  const changed = prepareJoin(settings, cluster);
  const reload = settings.natsRoutePort !== undefined ? writeMemberNatsConfigs(firstDataRoot(settings)) : changed ? [cluster.dataRoot] : [];
  for (const dataRoot of reload.filter((d) => d !== settings.dataRoot)) {
    const member = await resolvePlatformSettings({ dataRoot });
    const nats = services(member).find((svc) => svc.name === 'nats')!;
    const pid = runningPid(member, nats);
    if (pid !== undefined) process.kill(pid, 'SIGHUP'); // nats-server reloads its users, permissions and routes
    else if (dataRoot === cluster.dataRoot && settings.natsRoutePort === undefined) {
      throw new UnavailableError(`Cannot join the cluster of "${cluster.dataRoot}": its nats-server is not running: run \`berth platform up\` there`);
    }
  }
  await waitNatsAdmits(settings, cluster, Math.min(timeoutMs, 15_000));
  return { natsConfigChanged: reload.includes(settings.dataRoot) };
}

/**
 * Before anything starts: the registry's port must be free unless our registry already listens
 * there (it stays, or is restarted on it), else `up` would leave a half-started platform.
 */
async function checkRegistryPort(settings: PlatformSettings): Promise<void> {
  const registry = services(settings).find((svc) => svc.name === 'registry');
  // In a network namespace of its own the registry has that namespace's ports.
  if (registry === undefined || settings.netns !== undefined) return;
  const pid = runningPid(settings, registry);
  const listen = `--listen=${hostAddress(settings)}:${settings.registryPort}`;
  const ours = pid !== undefined && existsSync(cmdlineFile(settings, 'registry')) && readFileSync(cmdlineFile(settings, 'registry'), 'utf8').split('\0').includes(listen);
  if (!ours && !(await isLoopbackPortFree(settings.registryPort))) {
    throw new UnavailableError(
      `Cannot start the registry: port ${settings.registryPort} of 127.0.0.1 is in use by another program: stop it, or move the registry with "berth platform up --registry-port PORT"`,
    );
  }
}

async function waitHealthy(svc: PlatformService, settings: PlatformSettings, pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await checkHealth(svc, settings)) return;
    if (!isAlive(pid)) {
      throw new UnavailableError(`${svc.name} exited while starting: see ${logFile(settings, svc.name)}:\n${tail(logFile(settings, svc.name), 15)}`);
    }
    if (Date.now() > deadline) throw new UnavailableError(`${svc.name} did not answer within ${timeoutMs / 1000} s: see ${logFile(settings, svc.name)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function checkHealth(svc: PlatformService, settings: PlatformSettings): Promise<boolean> {
  if (!svc.healthcheck) return true;
  const [kind, target] = svc.healthcheck;
  if (kind === 'tcp') {
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    return new Promise((resolve) => {
      const socket = connect({ host, port });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
  }
  // A gateway on TCP wants a client certificate, which `up` does not have: that it accepts
  // connections is its health.
  if (target === settings.apiAddress && settings.tls) return checkHealth({ ...svc, healthcheck: ['tcp', grpcTarget(target)] }, settings);
  const client = new SystemClient(grpcTarget(target), grpc.credentials.createInsecure(), channelOptions);
  try {
    return await new Promise<boolean>((resolve) =>
      client.info({}, new grpc.Metadata(), { deadline: Date.now() + 2000 }, (err) => resolve(!err)),
    );
  } finally {
    client.close();
  }
}


export interface PlatformDownOptions extends PlatformOptions {
  /**
   * Services left running (`['nats']`): the hosts of a NATS cluster stop their other services
   * first, so that none of them stops against a nats-server that has lost JetStream's quorum
   * (a stop's KV writes would wait for their deadlines); a second `down` stops the rest.
   */
  keep?: readonly string[];
}

/**
 * Stops the services, each once every service that depends on it has stopped (as Compose does:
 * those that do not depend on each other side by side): SIGTERM, then SIGKILL after a grace period.
 * Containers keep running.
 */
export async function platformDown(options: PlatformDownOptions = {}, log: (line: string) => void = () => {}): Promise<void> {
  const settings = savedPlatformSettings(options) ?? (await platformSettings(options));
  const all = services(settings).filter((svc) => !options.keep?.includes(svc.name));
  const stopped = new Map<string, Promise<void>>();
  const stop = (svc: PlatformService): Promise<void> => {
    let done = stopped.get(svc.name);
    if (done === undefined) {
      const dependents = all.filter((other) => other.dependsOn.includes(svc.name));
      done = Promise.all(dependents.map(stop)).then(async () => {
        const pid = runningPid(settings, svc);
        if (pid !== undefined) {
          await stopService(pid);
          log(`Stopped ${svc.name} (pid ${pid})`);
        }
        rmSync(pidFile(settings, svc.name), { force: true });
        rmSync(cmdlineFile(settings, svc.name), { force: true });
      });
      stopped.set(svc.name, done);
    }
    return done;
  };
  await Promise.all(all.map(stop));
}

/** SIGTERM, then SIGKILL after 10 s. */
async function stopService(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

export async function platformStatus(options: PlatformOptions = {}): Promise<ServiceStatus[]> {
  const settings = savedPlatformSettings(options) ?? (await platformSettings(options));
  return Promise.all(
    services(settings).map(async (svc) => {
      const pid = runningPid(settings, svc);
      return {
        name: svc.name,
        pid,
        running: pid !== undefined,
        healthy: pid !== undefined && (await checkHealth(svc, settings)),
        log: logFile(settings, svc.name),
      };
    }),
  );
}

/** Each service's log file (`<dataRoot>/logs/<service>.log`, what `platform up` writes), in start order. */
export async function platformLogFiles(options: PlatformOptions = {}): Promise<Array<{ name: string; log: string }>> {
  const settings = await platformSettings(options);
  return services(settings).map((svc) => ({ name: svc.name, log: logFile(settings, svc.name) }));
}
