import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { Builder } from '@berth/build';
import { BuilderDirectory, connectNatsForFlags, inboxPrefix, natsFlagOptions, withDeadline } from '@berth/events';
import { serviceLoggerForFlag, warnOnFailure } from '@berth/log';
import { keepListenerRevocations, readPlatformRegistry, stopOnSignals, tlsListenerFlagOptions, tlsListenerForFlags } from '@berth/platform';
import { BuilderService, channelOptions, grpcTarget, SystemClient, SystemService, unary } from '@berth/proto';
import { builderService } from './builder-service.js';
import { GrpcWorker } from './grpc-worker.js';
import { systemService } from './system-service.js';

/**
 * The image builder of one host (what buildkitd is to containerd): serves the Builder service,
 * builds with libs/build on the host's stores through the runtime agent's gRPC services, and keeps
 * its address in the NATS KV bucket `builders` under the agent's host id for the gateway.
 */
const VERSION = '0.1.0';

const { values } = parseArgs({
  options: {
    'data-root': { type: 'string', default: '/var/lib/berth' },
    agent: { type: 'string', default: 'unix:/run/berth/agent.sock' },
    listen: { type: 'string', default: 'unix:/run/berth/builder.sock' },
    // --nats, --nats-nkey (this builder's nkey seed), --nats-ca.
    ...natsFlagOptions,
    // Seconds a build's lease lives unrenewed: how soon what a dead builder left is removed.
    // Also BERTH_BUILDER_LEASE_TTL.
    'lease-ttl': { type: 'string', default: process.env.BERTH_BUILDER_LEASE_TTL ?? '60' },
    // Registries reached over plain HTTP for the registry cache; also BERTH_INSECURE_REGISTRIES.
    'insecure-registry': { type: 'string', multiple: true, default: [] },
    // The platform's own registry (host:port) and the file of its credentials: a registry cache
    // there (--cache-to/--cache-from) needs no `berth login`.
    'platform-registry': { type: 'string' },
    'platform-registry-auth': { type: 'string' },
    // The CA of the platform registry's HTTPS certificate (the cluster CA), for one off loopback.
    'platform-registry-ca': { type: 'string' },
    // Also serve on TCP (ADDRESS:PORT) with mutual TLS for the gateway on another machine, as the
    // agent does (its --tls-listen): the three files are required; it then announces tcp://ADDRESS:PORT.
    ...tlsListenerFlagOptions,
    // debug, info, warn or error (default: BERTH_LOG_LEVEL, else info).
    'log-level': { type: 'string' },
  },
});
const leaseTtl = Number(values['lease-ttl']);
if (!Number.isFinite(leaseTtl) || leaseTtl < 1) {
  console.error(`Invalid --lease-ttl "${values['lease-ttl']}": expected seconds, at least 1`);
  process.exit(2);
}

// Checked before anything starts: a TCP listener without its TLS files is refused.
const tlsListener = tlsListenerForFlags(values);
const tlsListen = tlsListener?.address;

// One JSON line per event on stdout; one that cannot be written (a full data root) is lost, not fatal.
const log = serviceLoggerForFlag('builder', values['log-level']);
const dataRoot = values['data-root']!;
const agentAddress = values.agent!;

// The host this builder serves is its agent's: wait for the agent to answer.
const hostId = await agentHostId(agentAddress, 60_000);
const worker = new GrpcWorker(agentAddress);
const platformRegistry = readPlatformRegistry({ address: values['platform-registry'], auth: values['platform-registry-auth'], ca: values['platform-registry-ca'] });
const builder = new Builder({
  worker,
  workDir: join(dataRoot, 'builder'),
  leaseTtlMs: leaseTtl * 1000,
  insecureRegistries: [
    ...values['insecure-registry']!,
    ...(process.env.BERTH_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  ],
  platformRegistry,
  // Per-phase timings of every build, one JSON line each (docs/dev/build.md, "Where a build's time goes").
  ...(process.env.BERTH_BUILD_TRACE ? { traceFile: process.env.BERTH_BUILD_TRACE } : {}),
});
// NATS only announces this builder; builds never wait for it (the gateway keeps what it read).
const nc = await connectNatsForFlags(values, {
  name: 'berth-builder',
  inboxPrefix: inboxPrefix({ role: 'builder', host: hostId }),
  log,
});
const server = new grpc.Server(channelOptions);
server.addService(BuilderService, builderService(builder));
server.addService(SystemService, systemService(builder, { hostId, version: VERSION, dataRoot }));
const target = grpcTarget(values.listen!);
if (target.startsWith('unix:')) rmSync(target.slice('unix:'.length), { force: true });
await new Promise<void>((resolve, reject) => server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
// Only root builds (through the gateway); the gateway ignores a builder socket not owned by root.
if (target.startsWith('unix:')) chmodSync(target.slice('unix:'.length), 0o600);
// The client certificates the cluster CA revoked (`node rm`) are refused from the start.
const revocations = tlsListener ? await keepListenerRevocations(nc, tlsListener, { caFile: values.tlscacert!, log }) : undefined;
if (tlsListener !== undefined) {
  await new Promise<void>((resolve, reject) => server.bindAsync(tlsListener.address, tlsListener.credentials, (err) => (err ? reject(err) : resolve())));
}
const withdraw = await new BuilderDirectory(nc).keepAnnounced(
  { hostId, address: tlsListen !== undefined ? `tcp://${tlsListen}` : values.listen!, version: VERSION, startedAt: Date.now() },
  { onError: (err) => log.warn({ host: hostId, err }, "Cannot renew or withdraw the builder's announcement on NATS") },
);
log.info({ host: hostId, address: values.listen, tls: tlsListen, agent: agentAddress, leaseTtl }, 'berth builder listening');

// A build in progress is abandoned: its lease expires and the agent removes what it made. The stop
// is bounded (stopOnSignals): NATS not answering cannot keep the builder up.
stopOnSignals(
  async () => {
    const withdrawn = withdraw();
    const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await withDeadline(drained, 1_000, () => new Error('calls still in flight')).catch(() => server.forceShutdown());
    revocations?.stop();
    builder.close();
    worker.close();
    await withDeadline(withdrawn, 1_000, () => new Error('NATS did not answer within 1 s')).catch(
      warnOnFailure(log, { host: hostId }, "Cannot withdraw the builder's announcement"),
    );
    await nc.close();
  },
  { log },
);

async function agentHostId(address: string, timeoutMs: number): Promise<string> {
  const client = new SystemClient(grpcTarget(address), grpc.credentials.createInsecure(), channelOptions);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        return (await unary(client, client.info, {}, { deadline: Date.now() + 2_000 })).hostId;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200)); // the agent is starting: ask again
      }
    }
  } finally {
    client.close();
  }
}
