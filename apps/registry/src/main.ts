/**
 * The registry's command line:
 *   tsx apps/registry/src/main.ts [serve] [--listen host:port] [--root dir] [--auth none|basic|token] ...
 *       [--nats nats://127.0.0.1:4222 [--nats-nkey FILE] [--nats-ca FILE]] [--grpc-listen unix:/run/berth/registry.sock] [--proxy-remote-url URL]
 *   tsx apps/registry/src/main.ts gc --root DIR [--dry-run] [--grace 1h]
 * Flags are documented in config.ts. `serve` prints `registry listening on <url>` once ready (after
 * the admin API is bound and the registry announced on NATS).
 */
import { hostname } from 'node:os';
import type { NatsConnection } from 'nats';
import type { AdminServer } from './admin/grpc-server.js';
import { buildApp } from './app.js';
import { parseGcArgs, parseServeArgs } from './config.js';
import { NatsEventSink } from './registry-events.js';
import { FilesystemStorage } from './storage/filesystem-storage.js';
import { garbageCollect } from './storage/gc.js';
import { serviceLogger, silentLogger, type LogLevel, type Logger } from '@berth/log';

const VERSION = '0.1.0';

async function serve(argv: string[]): Promise<void> {
  const { host, port, config, nats, natsNkey, natsCa, hostId = hostname(), grpcListen } = await parseServeArgs(argv);
  // One JSON line per event on stdout (libs/log); a line lost on a full disk does not end the registry.
  const serviceLog = typeof config.logger === 'object' ? serviceLogger('registry', { level: config.logger.level as LogLevel }) : undefined;
  const log: Logger = serviceLog ?? silentLogger;
  // NATS (events, announcement) and gRPC (the admin API) are loaded only when asked for: a registry
  // started alone keeps neither client library in memory.
  const events = nats !== undefined ? await import('@berth/events') : undefined;
  let nc: NatsConnection | undefined;
  let sink: NatsEventSink | undefined;
  if (nats !== undefined && events !== undefined) {
    const { connectNats, EventBus, inboxPrefix } = events;
    nc = await connectNats(nats, {
      name: 'berth-registry',
      nkeySeedFile: natsNkey,
      ...(natsCa !== undefined ? { caFile: natsCa } : {}),
      inboxPrefix: inboxPrefix({ role: 'registry', host: hostId }),
      log,
    });
    const bus = new EventBus(nc, hostId);
    await bus.ensureStream();
    sink = new NatsEventSink(bus, (err, event) => log.warn({ repository: event.repository, action: event.action, err }, 'Cannot publish the image event'));
  }
  const app = await buildApp({ ...config, ...(serviceLog ? { loggerInstance: serviceLog } : {}), events: sink });
  const address = await app.listen({ host, port });
  // What clients on this host use: a wildcard listen address is reached on loopback.
  const url = address.replace(/\/\/(0\.0\.0\.0|\[::\])(?=:)/, `//${host === '::' ? '[::1]' : '127.0.0.1'}`);
  let admin: AdminServer | undefined;
  if (grpcListen !== undefined) {
    const info = { address: new URL(url).host, url, version: VERSION, proxy: config.proxy !== undefined, auth: config.auth ?? 'none' };
    const [{ serveAdmin }, { registryAdminService }] = await Promise.all([import('./admin/grpc-server.js'), import('./admin/admin-service.js')]);
    admin = await serveAdmin(grpcListen, registryAdminService(new FilesystemStorage(config.root), { log: (line) => app.log.info(line), events: sink, info }));
    process.stdout.write(`registry admin API listening on ${admin.address}\n`);
  }
  let withdraw: (() => Promise<void>) | undefined;
  if (nc !== undefined && events !== undefined) {
    const { RegistryDirectory, registryKey, subjectToken } = events;
    withdraw = await new RegistryDirectory(nc).keepAnnounced({
      // `<host>.<port>`: the registry's NATS permissions allow only keys under its host id.
      id: `${subjectToken(registryKey(hostId))}.${new URL(url).port}`,
      url,
      grpcAddress: admin?.address ?? '',
      version: VERSION,
      startedAt: Date.now(),
      proxy: config.proxy !== undefined,
    });
  }
  process.stdout.write(`registry listening on ${address}\n`);
  const stop = (signal: string): void => {
    app.log.info(`${signal}: shutting down`);
    const timer = setTimeout(() => process.exit(1), 10_000);
    timer.unref();
    (async () => {
      await withdraw?.();
      await app.close();
      await admin?.close();
      await sink?.flush();
      await nc?.close();
    })().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

async function gc(argv: string[]): Promise<void> {
  const options = parseGcArgs(argv);
  await garbageCollect(options.root, { ...options, log: (line) => process.stdout.write(`${line}\n`) });
}

const [command, ...rest] = process.argv.slice(2);
const run = command === 'gc' ? gc(rest) : command === 'serve' ? serve(rest) : serve(process.argv.slice(2));
run.catch((err: unknown) => {
  process.stderr.write(`registry: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
