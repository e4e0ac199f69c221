import { chmodSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { connectNatsForFlags, inboxPrefix, natsFlagOptions, readHostId, withDeadline } from '@berth/events';
import { serviceLoggerForFlag } from '@berth/log';
import { keepListenerRevocations, readPlatformRegistry, stopOnSignals, tlsListenerFlagOptions, tlsListenerForFlags } from '@berth/platform';
import { channelOptions, grpcTarget } from '@berth/proto';
import { Agent } from './agent.js';
import { watchNatsConfig } from './nats-config-watcher.js';

const { values } = parseArgs({
  options: {
    'data-root': { type: 'string', default: '/var/lib/berth' },
    'run-root': { type: 'string', default: '/run/berth' },
    // --nats, --nats-nkey (this agent's nkey seed), --nats-ca.
    ...natsFlagOptions,
    listen: { type: 'string', default: 'unix:/run/berth/agent.sock' },
    runtime: { type: 'string', default: 'runc' },
    // Docker's --insecure-registry, repeatable; also BERTH_INSECURE_REGISTRIES (comma-separated).
    'insecure-registry': { type: 'string', multiple: true, default: [] },
    // The platform's own registry (host:port) and the file of its credentials: pushes there need
    // no `berth login`.
    'platform-registry': { type: 'string' },
    'platform-registry-auth': { type: 'string' },
    // The CA the platform registry's HTTPS certificate is signed by (the cluster CA), for a
    // registry off loopback: it is reached over HTTPS verified against it only.
    'platform-registry-ca': { type: 'string' },
    // debug, info, warn or error (default: BERTH_LOG_LEVEL, else info).
    'log-level': { type: 'string' },
    // This host's name and labels in the cluster (`berth node ls`, placement constraints).
    'node-name': { type: 'string' },
    'node-role': { type: 'string' },
    label: { type: 'string', multiple: true, default: [] },
    // Also serve on TCP (ADDRESS:PORT, this host's address between hosts) with mutual TLS: the
    // gateway on another machine reaches the agent there, with its certificate of the cluster CA.
    // Needs the three files --tlscacert, --tlscert, --tlskey (never a plain TCP agent); the agent then
    // announces tcp://ADDRESS:PORT.
    ...tlsListenerFlagOptions,
    // The address other hosts reach this one at, for overlay networks' VXLAN (also
    // BERTH_UNDERLAY_ADDRESS); default the address of the default route's device.
    'underlay-address': { type: 'string' },
    // On a host that joined a NATS cluster with a token: its nats-server's config
    // (<data-root>/secrets/nats-server.conf) and pid file; the agent rewrites the config's users and
    // routes from KV nats-members and reloads the server (nats-config-watcher.ts). Both or neither.
    'nats-config': { type: 'string' },
    'nats-pid': { type: 'string' },
  },
});
if ((values['nats-config'] === undefined) !== (values['nats-pid'] === undefined)) {
  console.error('--nats-config and --nats-pid go together: the nats-server.conf the agent keeps, and the pid file of the server that reads it');
  process.exit(2);
}
if (values.runtime !== 'runc' && values.runtime !== 'crun') {
  console.error(`Invalid --runtime "${values.runtime}": expected runc or crun`);
  process.exit(2);
}

// One JSON line per event on stdout; one that cannot be written (a full data root) is lost, not fatal.
const log = serviceLoggerForFlag('runtime-agent', values['log-level']);

function nodeLabels(pairs: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      console.error(`Invalid --label "${pair}": expected key=value`);
      process.exit(2);
    }
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

if (values['node-role'] !== undefined && values['node-role'] !== 'manager' && values['node-role'] !== 'worker') {
  console.error(`Invalid --node-role "${values['node-role']}": expected manager or worker`);
  process.exit(2);
}

// Checked before anything starts: a TCP listener without its TLS files is refused.
const tlsListener = tlsListenerForFlags(values);
const tlsListen = tlsListener?.address;

const hostId = readHostId(values['data-root']!);
const nc = await connectNatsForFlags(values, {
  name: 'berth-runtime-agent',
  inboxPrefix: inboxPrefix({ role: 'agent', host: hostId }),
  log,
});
const platformRegistry = readPlatformRegistry({ address: values['platform-registry'], auth: values['platform-registry-auth'], ca: values['platform-registry-ca'] });
const agent = await Agent.open(
  {
    dataRoot: values['data-root']!,
    runRoot: values['run-root']!,
    runtime: values.runtime,
    address: tlsListen !== undefined ? `tcp://${tlsListen}` : values.listen!,
    insecureRegistries: [
      ...values['insecure-registry']!,
      ...(process.env.BERTH_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    ],
    platformRegistry,
    nodeName: values['node-name'],
    nodeRole: values['node-role'],
    labels: nodeLabels(values.label!),
    underlayAddress: values['underlay-address'] || process.env.BERTH_UNDERLAY_ADDRESS || undefined,
    log,
  },
  nc,
);
const server = new grpc.Server(channelOptions);
agent.register(server);
const target = grpcTarget(values.listen!);
if (target.startsWith('unix:')) rmSync(target.slice('unix:'.length), { force: true });
await new Promise<void>((resolve, reject) =>
  server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
);
// Only root talks to the agent (the gateway, the builder); the gateway ignores an agent socket not owned by root.
if (target.startsWith('unix:')) chmodSync(target.slice('unix:'.length), 0o600);
// The client certificates the cluster CA revoked (`node rm`) are refused from the start.
const revocations = tlsListener ? await keepListenerRevocations(nc, tlsListener, { caFile: values.tlscacert!, log }) : undefined;
if (tlsListener !== undefined) {
  await new Promise<void>((resolve, reject) => server.bindAsync(tlsListener.address, tlsListener.credentials, (err) => (err ? reject(err) : resolve())));
}
// In a NATS cluster that has just formed (a host joining while JetStream elects its leaders), a
// bucket created a moment ago by another host's agent may not answer its first write yet (503, no
// responders): the first announcement is tried again for up to 30 s before the agent gives up.
for (const deadline = Date.now() + 30_000; ; ) {
  try {
    await agent.announce();
    break;
  } catch (err) {
    if (Date.now() > deadline) throw err;
    log.warn({ err }, 'Cannot announce this host on NATS yet: trying again');
    await new Promise((r) => setTimeout(r, 500));
  }
}
const natsConfig =
  values['nats-config'] !== undefined ? watchNatsConfig(nc, { configFile: values['nats-config'], pidFile: values['nats-pid']!, log }) : undefined;
log.info({ host: agent.hostId, address: values.listen, tls: tlsListen }, 'berth runtime agent listening');

// Containers keep running (conmon monitors them); the next agent re-adopts them. The stop is
// bounded (stopOnSignals): NATS not answering or a full disk cannot keep the agent up.
stopOnSignals(
  async () => {
    // Calls in flight (a `wait`, `logs -f`) get a moment to end, then are cancelled.
    const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await withDeadline(drained, 1_000, () => new Error('calls still in flight')).catch(() => server.forceShutdown());
    revocations?.stop();
    natsConfig?.stop();
    await agent.close();
    await nc.close();
  },
  { log },
);
