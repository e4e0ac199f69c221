import { chmodSync, chownSync, readFileSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { connectNatsForFlags, inboxPrefix, natsFlagOptions, withDeadline } from '@berth/events';
import { logLevelOf, serviceLogger } from '@berth/log';
import { clusterTlsOf, dataRootOfSecrets, groupId, revokeJoinedHost, startJoinResponder, stopOnSignals } from '@berth/platform';
import { channelOptions, grpcTarget } from '@berth/proto';
import { startDockerApi } from './docker-api/index.js';
import { Gateway } from './gateway.js';
import { CertificateRevocations } from './certificate-revocations.js';
import { type ClusterTlsFiles, readGatewayTls } from './cluster-credentials.js';
import { NatsClusterKeeper } from './nats-cluster-keeper.js';

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: 'unix:/run/berth/api.sock' },
    // --nats, --nats-nkey (the gateway's nkey seed), --nats-ca.
    ...natsFlagOptions,
    // Members of this group may use the unix socket (0660 root:<group>); default: root only (0600).
    group: { type: 'string' },
    // A second, root-only (0600) unix socket for the platform's own clients on this host (the
    // compose watcher), whatever --listen is: they have no TLS client certificate for a TCP one.
    'internal-listen': { type: 'string' },
    // The Docker Engine API (HTTP, for the docker CLI, compose, dockerode): a unix socket with the
    // same owner and mode as --listen's (docs/docker-api.md); it calls the gRPC services above.
    'docker-listen': { type: 'string' },
    // The platform registry's address, which the Docker API's /info shows in RegistryConfig.
    'platform-registry': { type: 'string' },
    // TCP needs TLS with client certificates, as dockerd's --tlsverify.
    tlsverify: { type: 'boolean', default: false },
    tlscacert: { type: 'string' },
    tlscert: { type: 'string' },
    tlskey: { type: 'string' },
    // The first host's secrets directory (libs/platform cluster-ca.ts): with its tls/gateway.pem
    // the gateway reaches agents and builders on TCP (other machines) over mutual TLS, and with the
    // CA's key it admits hosts joining with the join token (libs/platform join-responder.ts).
    'cluster-secrets': { type: 'string' },
    // debug, info, warn or error (default: BERTH_LOG_LEVEL, else info).
    'log-level': { type: 'string' },
  },
});

const fail = (message: string): never => {
  console.error(`berth-api: ${message}`);
  process.exit(2);
};
// One JSON line per event on stdout; one that cannot be written (a full data root) is lost, not fatal.
let level;
try {
  level = logLevelOf(values['log-level']);
} catch (err) {
  fail((err as Error).message);
}
const log = serviceLogger('api', { level });

const target = grpcTarget(values.listen!);
const tcp = !target.startsWith('unix:');
let credentials = grpc.ServerCredentials.createInsecure();
if (!tcp && values.tlsverify) fail('--tlsverify applies to a TCP --listen address only');
if (tcp) {
  if (!values.tlsverify || !values.tlscacert || !values.tlscert || !values.tlskey) {
    fail(`Refusing to listen on TCP "${values.listen}" without TLS client certificates: add --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY, or listen on a unix socket`);
  }
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      return fail(`Cannot read ${flag} "${file}": ${(err as Error).message}`);
    }
  };
  credentials = grpc.ServerCredentials.createSsl(
    read('--tlscacert', values.tlscacert!),
    [{ cert_chain: read('--tlscert', values.tlscert!), private_key: read('--tlskey', values.tlskey!) }],
    true, // a client without a certificate signed by the CA is refused
  );
}
let gid: number | undefined;
if (values.group) {
  if (tcp) fail('--group applies to a unix socket --listen address only');
  try {
    gid = groupId(values.group);
  } catch (err) {
    fail((err as Error).message);
  }
}

let clusterTls: ClusterTlsFiles | undefined;
if (values['cluster-secrets'] !== undefined) {
  const tls = clusterTlsOf(values['cluster-secrets']);
  try {
    clusterTls = readGatewayTls(tls);
  } catch (err) {
    fail(`Cannot read the cluster's TLS files in "${tls.dir}": ${(err as Error).message}`);
  }
}

const nc = await connectNatsForFlags(values, { name: 'berth-api', inboxPrefix: inboxPrefix({ role: 'gateway' }), log });
const clusterSecrets = values['cluster-secrets'];
const firstDataRoot = clusterSecrets !== undefined ? dataRootOfSecrets(clusterSecrets) : undefined;
// The cluster CA's revoked certificates (`node rm`): refused when an agent or builder shows one.
const revocations = clusterSecrets !== undefined ? new CertificateRevocations(nc, { secretsDir: clusterSecrets, log }) : undefined;
await revocations?.start();
// Its membership record and the streams' replicas (nats-cluster-keeper.ts); the lease is the gateway's.
const natsCluster = new NatsClusterKeeper(nc, { leadership: { held: () => gateway.leads() }, log, ...(firstDataRoot !== undefined ? { firstDataRoot } : {}) });
const gateway = new Gateway(nc, {
  log,
  ...(clusterTls ? { clusterTls } : {}),
  ...(firstDataRoot !== undefined && revocations !== undefined
    ? {
        revokeHost: async (hostId: string) => {
          await revokeJoinedHost(firstDataRoot, hostId);
          await revocations.revokeHost(hostId);
          natsCluster.changed(); // the other machines' nats-servers let its keys out too
        },
        revoked: (serial: string) => revocations.isRevoked(serial),
      }
    : {}),
});
await gateway.start();
natsCluster.start();
const joins = firstDataRoot !== undefined ? startJoinResponder(nc, { firstDataRoot, log, onAdmitted: () => natsCluster.changed() }) : undefined;
const server = new grpc.Server(channelOptions);
gateway.register(server);
const bind = (address: string, creds: grpc.ServerCredentials) =>
  new Promise<void>((resolve, reject) => server.bindAsync(address, creds, (err) => (err ? reject(err) : resolve())));
// The internal socket first: once the platform sees --listen answer, the watcher may connect.
const internal = values['internal-listen'] ? grpcTarget(values['internal-listen']) : undefined;
if (internal !== undefined && internal !== target) {
  if (!internal.startsWith('unix:')) fail(`--internal-listen must be a unix socket, not "${values['internal-listen']}"`);
  rmSync(internal.slice('unix:'.length), { force: true });
  await bind(internal, grpc.ServerCredentials.createInsecure());
  chmodSync(internal.slice('unix:'.length), 0o600);
}
if (!tcp) rmSync(target.slice('unix:'.length), { force: true });
await bind(target, credentials);
if (!tcp) {
  // Root only, or root and the group's members (docker's `docker` group).
  const socket = target.slice('unix:'.length);
  if (gid !== undefined) chownSync(socket, process.getuid?.() ?? 0, gid);
  chmodSync(socket, gid !== undefined ? 0o660 : 0o600);
}
const dockerListen = values['docker-listen'];
let dockerApi: Awaited<ReturnType<typeof startDockerApi>> | undefined;
if (dockerListen) {
  if (!dockerListen.startsWith('unix:')) fail(`--docker-listen must be a unix socket ("unix:/run/berth/docker.sock"), not "${dockerListen}"`);
  const gatewayAddress = internal ?? (tcp ? undefined : target);
  if (gatewayAddress === undefined) fail('--docker-listen needs --internal-listen when --listen is TCP (the Docker API calls the gateway over a unix socket)');
  dockerApi = await startDockerApi(grpcTarget(dockerListen).slice('unix:'.length), { gatewayAddress: gatewayAddress!, gid, log, platformRegistry: values['platform-registry'] });
}
log.info(
  {
    address: values.listen,
    group: values.group,
    tls: tcp,
    internal: internal !== undefined && internal !== target ? values['internal-listen'] : undefined,
    docker: dockerListen,
  },
  'berth-api listening',
);

// Bounded (stopOnSignals): NATS not answering cannot keep the gateway up. Calls in flight (a
// `wait`, `logs -f`, `events`) get a moment to end, then are cancelled.
stopOnSignals(
  async () => {
    const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await Promise.all([
      dockerApi?.close(),
      withDeadline(drained, 1_000, () => new Error('calls still in flight')).catch(() => server.forceShutdown()),
    ]);
    joins?.unsubscribe();
    revocations?.stop();
    natsCluster.close();
    await gateway.close();
    await nc.close();
  },
  { log },
);
