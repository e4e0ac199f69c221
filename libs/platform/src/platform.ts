import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { UnavailableError } from '@berth/errors';
import { SystemClient, channelOptions, grpcTarget } from '@berth/proto';
import { loadPlatformFile, type PlatformService } from './platform-file.js';

/**
 * Starts and stops this host's platform processes (nats-server, runtime agent, gateway, registry) in the
 * background, as `compose/platform.yaml` describes them.
 *
 *   <dataRoot>/platform.json      the settings of this data root (ports, addresses), kept across restarts
 *   <dataRoot>/logs/<service>.log each service's output
 *   <runRoot>/platform/<svc>.pid  the pid of each running service
 */
export interface PlatformOptions {
  dataRoot?: string;
  /** Defaults to /run/berth for the default data root, `<dataRoot>/run` otherwise. */
  runRoot?: string;
  /** Gateway address; default unix:<runRoot>/api.sock. */
  apiAddress?: string;
  runtime?: 'runc' | 'crun';
  /** How long `up` waits for every service to answer. */
  timeoutMs?: number;
}

export interface PlatformSettings {
  dataRoot: string;
  runRoot: string;
  natsPort: number;
  /** The registry's HTTP port on 127.0.0.1 (its admin gRPC API is on unix:<runRoot>/registry.sock). */
  registryPort: number;
  apiAddress: string;
  agentAddress: string;
  runtime: string;
}

export interface ServiceStatus {
  name: string;
  pid?: number;
  running: boolean;
  healthy: boolean;
  log: string;
}

export const DEFAULT_DATA_ROOT = '/var/lib/berth';
export const DEFAULT_RUN_ROOT = '/run/berth';
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PLATFORM_FILE = join(REPO_ROOT, 'compose/platform.yaml');

/** The settings of a data root: read from its platform.json, or chosen (free ports) and saved. */
export async function platformSettings(options: PlatformOptions = {}): Promise<PlatformSettings> {
  const dataRoot = resolve(options.dataRoot ?? DEFAULT_DATA_ROOT);
  const file = join(dataRoot, 'platform.json');
  const saved: Partial<PlatformSettings> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const runRoot = options.runRoot ?? saved.runRoot ?? (dataRoot === DEFAULT_DATA_ROOT ? DEFAULT_RUN_ROOT : join(dataRoot, 'run'));
  const settings: PlatformSettings = {
    dataRoot,
    runRoot,
    natsPort: saved.natsPort ?? (await freeLoopbackPort()),
    registryPort: saved.registryPort ?? (await freeLoopbackPort()),
    apiAddress: options.apiAddress ?? saved.apiAddress ?? `unix:${join(runRoot, 'api.sock')}`,
    agentAddress: saved.agentAddress ?? `unix:${join(runRoot, 'agent.sock')}`,
    runtime: options.runtime ?? saved.runtime ?? 'runc',
  };
  mkdirSync(dataRoot, { recursive: true });
  writeFileSync(file, JSON.stringify(settings, null, 2) + '\n');
  return settings;
}

function services(settings: PlatformSettings): PlatformService[] {
  return loadPlatformFile(PLATFORM_FILE, {
    ROOT: REPO_ROOT,
    DATA_ROOT: settings.dataRoot,
    RUN_ROOT: settings.runRoot,
    NATS_PORT: String(settings.natsPort),
    REGISTRY_PORT: String(settings.registryPort),
    API_ADDRESS: settings.apiAddress,
    AGENT_ADDRESS: settings.agentAddress,
    RUNTIME: settings.runtime,
    NODE: [process.execPath, '--import', 'tsx'],
  });
}

const pidFile = (s: PlatformSettings, name: string) => join(s.runRoot, 'platform', `${name}.pid`);
const logFile = (s: PlatformSettings, name: string) => join(s.dataRoot, 'logs', `${name}.log`);

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts every service that is not running yet, in dependency order, and returns once all of them
 * answer their health check. Idempotent: running services are left alone.
 */
export async function platformUp(options: PlatformOptions = {}, log: (line: string) => void = () => {}): Promise<PlatformSettings> {
  const settings = await platformSettings(options);
  const timeoutMs = options.timeoutMs ?? 60_000;
  mkdirSync(join(settings.runRoot, 'platform'), { recursive: true });
  mkdirSync(join(settings.dataRoot, 'logs'), { recursive: true });
  for (const svc of services(settings)) {
    let pid = readPid(pidFile(settings, svc.name));
    if (pid === undefined) {
      const out = openSync(logFile(settings, svc.name), 'a');
      const child = spawn(svc.command[0]!, svc.command.slice(1), {
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
      writeFileSync(pidFile(settings, svc.name), `${pid}\n`);
      log(`Started ${svc.name} (pid ${pid})`);
    }
    await waitHealthy(svc, settings, pid, timeoutMs);
  }
  return settings;
}

async function waitHealthy(svc: PlatformService, settings: PlatformSettings, pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await checkHealth(svc)) return;
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

async function checkHealth(svc: PlatformService): Promise<boolean> {
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
  const client = new SystemClient(grpcTarget(target), grpc.credentials.createInsecure(), channelOptions);
  try {
    return await new Promise<boolean>((resolve) =>
      client.info({}, new grpc.Metadata(), { deadline: Date.now() + 2000 }, (err) => resolve(!err)),
    );
  } finally {
    client.close();
  }
}

/** Stops the services in reverse order: SIGTERM, then SIGKILL after a grace period. Containers keep running. */
export async function platformDown(options: PlatformOptions = {}, log: (line: string) => void = () => {}): Promise<void> {
  const settings = await platformSettings(options);
  for (const svc of services(settings).reverse()) {
    const file = pidFile(settings, svc.name);
    const pid = readPid(file);
    if (pid !== undefined) {
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      log(`Stopped ${svc.name} (pid ${pid})`);
    }
    rmSync(file, { force: true });
  }
}

export async function platformStatus(options: PlatformOptions = {}): Promise<ServiceStatus[]> {
  const settings = await platformSettings(options);
  return Promise.all(
    services(settings).map(async (svc) => {
      const pid = readPid(pidFile(settings, svc.name));
      return { name: svc.name, pid, running: pid !== undefined, healthy: pid !== undefined && (await checkHealth(svc)), log: logFile(settings, svc.name) };
    }),
  );
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    import('node:net').then(({ createServer }) => {
      const srv = createServer();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolvePort(port));
      });
    }, reject);
  });
}
