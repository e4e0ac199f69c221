import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterJoinToken, natsCaFile, platformDown, platformUp, secretsOf, type PlatformSettings } from '@berth/platform';
import { until } from './polling.js';
import { waitForPort } from './ports.js';
import { createTestNetwork, type TestNetwork } from './test-network.js';
import { tempDir, type TempDir } from './temp-dir.js';
import { startTestGateway, type TestGateway } from './test-gateway.js';
import { startTestPlatformIn, sweepContainers, type TestPlatform } from './test-platform.js';

/**
 * One host of a test cluster: a network namespace with its own address on the test bridge, a data
 * root with its own host id, run root, agent and builder (and, in a NATS cluster, nats-server).
 */
export interface TestHost {
  /** The node name it announces (`node-1`, `node-2`, …). */
  name: string;
  hostId: string;
  dataRoot: string;
  settings: PlatformSettings;
  /** Its address on the test network (`10.99.N.<i+1>`), where its published ports and servers are. */
  address: string;
  /** Its network namespace (`/run/netns/<netns>`), which its services run in. */
  netns: string;
  /**
   * The host "dies": its agent and builder are SIGKILLed and its containers killed (as a machine
   * losing power), leaving its data root as it was. Its announcement lapses after the hosts TTL.
   * Its nats-server (and, on host 1, the gateway and registry) keep running.
   */
  kill(): void;
  /** SIGKILLs one of its platform services (`nats`, `runtime-agent`, `api`, …), if it runs. */
  killService(service: string): void;
  /** Starts its stopped services again (the host comes back). */
  restart(): Promise<void>;
}

export interface TestCluster extends AsyncDisposable {
  /** The first host's platform: nats-server, registry, gateway, compose watcher, and host 1's agent. */
  platform: TestPlatform;
  /** Every host, the first one included (hosts[0] is the platform's own). */
  hosts: TestHost[];
  network: TestNetwork;
  berth: TestPlatform['berth'];
  /**
   * Starts another gateway on the cluster's NATS (the first host's gateway nkey, a socket of its
   * own), in host `host`'s network namespace (1-based; default 2, else 1), connected to that host's
   * nats-server first. `stop()` stops it with the cluster, also after a failed test.
   */
  startGateway(options?: { host?: number }): Promise<TestGateway>;
  /**
   * Joins host `i` (`node-i`, label `zone=zi`) as another machine would: `platform up --join URL
   * --token TOKEN --address` (libs/platform cluster-join.ts), nothing read from host 1's data root;
   * its agent and builder serve on its address with mutual TLS. Added to `hosts`; removed by `stop()`.
   */
  joinWithToken(i: number, join: { url: string; token: string }): Promise<TestHost>;
  stop(): Promise<void>;
}

export interface TestClusterOptions {
  /**
   * Every host runs a nats-server of a NATS cluster (`natsCluster` of libs/platform), JetStream
   * replicated 3 times from 3 hosts on. Default: true from 3 hosts on; else host 1's nats-server only.
   */
  natsCluster?: boolean;
  /**
   * Hosts 2..n join as other machines would: `platform up --join URL --token TOKEN --address`
   * (the token from `platform join-token` on host 1), nothing read from host 1's data root. In a
   * NATS cluster host 2 joins while host 1's `up` waits for JetStream (host 1's `up` answers that
   * join itself, libs/platform bootstrap-joins.ts). Default: `platform join --cluster`.
   */
  joinByToken?: boolean;
  /**
   * The busybox image bootstrapped on node-1 only, once every host is ready (containers placed
   * elsewhere get it from there). A failed bootstrap stops the cluster and throws the CLI's stderr.
   */
  busybox?: boolean;
}

/**
 * Starts a cluster of `n` hosts on this machine, each in a network namespace of its own on a test
 * bridge (test-network.ts): the first is a whole platform (startTestPlatform), each other one a data
 * root that joins it (`platformUp({ join })`: its own host id, run root, agent and builder, on the
 * first host's registry and gateway). Host i is named `node-i` and labelled `zone=z<i>`. `stop()`
 * removes every container of the cluster, every host's processes, mounts and directories, and the
 * namespaces, bridge and iptables rule of the test network, even after a failed test.
 *
 * In a NATS cluster JetStream starts once 2 servers route to each other, so host 1's platform is
 * still starting (waiting for that quorum) when host 2 joins.
 */
export async function startTestCluster(n: number, options: TestClusterOptions = {}): Promise<TestCluster> {
  const natsCluster = options.natsCluster ?? n >= 3;
  const network = createTestNetwork();
  const dirs: TempDir[] = [];
  const hosts: TestHost[] = [];
  let platform: TestPlatform | undefined;
  let starting: Promise<TestPlatform> | undefined;
  const first = tempDir('berth-e2e-');
  try {
    const net1 = network.addHost(1);
    starting = startTestPlatformIn(first, { nodeName: 'node-1', labels: { zone: 'z1' }, ...net1, natsCluster });
    let token: Promise<{ token: string; url: string }> | undefined;
    const join = async (i: number) => {
      const dir = tempDir('berth-e2e-host-');
      dirs.push(dir);
      const net = network.addHost(i);
      const how = options.joinByToken
        ? await (token ??= natsListening(first.path).then(() => clusterJoinToken({ dataRoot: first.path }))).then((t) => ({ joinNats: [t.url], joinToken: t.token }))
        : { join: first.path };
      const settings = await platformUp({ dataRoot: dir.path, ...how, nodeName: `node-${i}`, labels: { zone: `z${i}` }, ...net, timeoutMs: 60_000 });
      return hostOf(settings, `node-${i}`, net);
    };
    const joining: Array<Promise<TestHost>> = [];
    if (natsCluster && n >= 2) {
      // Host 1's up waits for JetStream, which needs host 2's nats-server: join while it starts.
      await Promise.race([natsListening(first.path), starting]);
      joining.push(join(2));
    }
    const settled = await Promise.allSettled([starting, ...joining]);
    if (settled[0]!.status === 'fulfilled') platform = settled[0].value;
    // Every failure, host 1's last: when a join fails, host 1's `up` only times out waiting for JetStream.
    const failed = [...settled.slice(1), settled[0]!].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error);
    if (failed.length === 1) throw failed[0];
    if (failed.length > 1) throw new Error(`The test cluster did not start: ${failed.map((e) => e.message).join('; ')}`, { cause: failed[0] });
    hosts.push(hostOf(platform!.settings, 'node-1', net1));
    for (const s of settled.slice(1)) hosts.push((s as PromiseFulfilledResult<TestHost>).value);
    for (let i = hosts.length + 1; i <= n; i++) hosts.push(await join(i));
    // Ready when the gateway counts every host ready (its NodeKeeper has seen each announced).
    const ready = await until(
      () => platform!.berth(['node', 'ls', '--format', '{{.Status}}']),
      (r) => r.stdout.split('\n').filter((l) => l === 'ready').length === n,
      { timeoutMs: 30_000 },
    );
    if (ready.stdout.split('\n').filter((l) => l === 'ready').length !== n) throw new Error(`The gateway does not see ${n} ready nodes: ${ready.stdout}${ready.stderr}`);
    if (options.busybox) {
      const boot = await platform!.berth(['image', 'bootstrap', 'busybox'], { env: { BERTH_NODE: 'node-1' }, timeoutMs: 120_000 });
      if (boot.code !== 0) throw new Error(`berth image bootstrap busybox on node-1 exited with ${boot.code}: ${boot.stderr}`);
    }
  } catch (err) {
    await stopHosts(dirs, async () => {
      // A platform that failed to start has cleaned up after itself (startTestPlatformIn).
      platform ??= await starting?.catch(() => undefined);
      if (platform) await platform.stop();
      else if (starting === undefined) first.remove();
    });
    network.remove();
    throw err;
  }
  const up = platform!;
  const gateways: TestGateway[] = [];
  const startGateway = async (o: { host?: number } = {}) => {
    const index = o.host ?? Math.min(2, hosts.length);
    const host = hosts[index - 1];
    if (!host) throw new Error(`The test cluster has no host ${index}`);
    // A NATS cluster: every host runs a nats-server (its own first); else the first host's only.
    const servers = up.settings.natsRoutePort !== undefined ? [host, ...hosts.filter((h) => h !== host)] : [hosts[0]!];
    const gateway = await startTestGateway({
      dataRoot: up.settings.dataRoot,
      runRoot: up.settings.runRoot,
      natsUrls: servers.map((h) => `nats://${h.address}:${h.settings.natsPort}`).join(','),
      netns: host.netns,
      natsCaFile: natsCaFile(up.settings),
      index: gateways.length + 2,
      // As `platform up` gives the first gateway: agents announced on TCP are reached with the cluster's TLS.
      ...(up.settings.agentTlsPort !== undefined ? { clusterSecrets: secretsOf(up.settings.dataRoot).dir } : {}),
    });
    gateways.push(gateway);
    return gateway;
  };
  const stop = async () => {
    for (const g of gateways) await g.stop().catch(() => g.kill()); // it would not end: killed, the cluster's stop goes on
    try {
      const ids = (await up.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await up.berth(['rm', '-f', ...ids]);
    } catch {
      // the gateway may be down already: the sweeps below still clean up
    }
    try {
      await stopHosts(dirs, () => up.stop());
    } finally {
      network.remove();
    }
  };
  const joinWithToken = async (i: number, join: { url: string; token: string }) => {
    const dir = tempDir('berth-e2e-host-');
    dirs.push(dir);
    const net = network.addHost(i);
    const labels = { zone: `z${i}` };
    const settings = await platformUp({ dataRoot: dir.path, joinNats: [join.url], joinToken: join.token, nodeName: `node-${i}`, labels, ...net, timeoutMs: 60_000 });
    const host = hostOf(settings, `node-${i}`, net);
    hosts.push(host);
    return host;
  };
  return { platform: up, hosts, network, berth: up.berth, startGateway, joinWithToken, stop, [Symbol.asyncDispose]: stop };
}

/** Resolves once the nats-server of the platform being started in `dataRoot` accepts connections. */
async function natsListening(dataRoot: string): Promise<void> {
  const file = join(dataRoot, 'platform.json');
  const deadline = Date.now() + 60_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`No platform settings in "${dataRoot}" within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const settings = JSON.parse(readFileSync(file, 'utf8')) as PlatformSettings;
  await waitForPort(settings.natsPort, { host: settings.address ?? '127.0.0.1', timeoutMs: Math.max(deadline - Date.now(), 1_000) });
}

/**
 * Stops the joined hosts (data roots `dirs`) around `stopFirst`, which stops host 1: their services
 * but their nats-servers, side by side; then host 1; then their nats-servers. So no service stops
 * against a NATS cluster that has lost JetStream's quorum: its KV writes on the way out (a
 * withdrawn announcement, a released lease) would each wait for their deadline (host 1's gateway
 * took 5 s to stop, the whole cluster 16 s).
 */
async function stopHosts(dirs: TempDir[], stopFirst: () => Promise<void>): Promise<void> {
  await Promise.all(dirs.map((dir) => platformDown({ dataRoot: dir.path, keep: ['nats'] }).catch(() => {}))); // not started, or already down: the sweep below cleans up
  try {
    await stopFirst();
  } finally {
    for (const dir of dirs) {
      // Its nats-server (and whatever the first `down` left): a failure is said, and the sweep below cleans up.
      await platformDown({ dataRoot: dir.path }).catch((e: Error) => console.warn(`test cluster: platform down ${dir.path}: ${e.message}`));
      sweepContainers(dir.path);
      dir.remove();
    }
  }
}

function hostOf(settings: PlatformSettings, name: string, net: { netns: string; address: string }): TestHost {
  const killService = (service: string) => {
    try {
      process.kill(Number(readFileSync(join(settings.runRoot, 'platform', `${service}.pid`), 'utf8').trim()), 'SIGKILL');
    } catch {
      // not running
    }
  };
  return {
    name,
    hostId: settings.hostId,
    dataRoot: settings.dataRoot,
    settings,
    ...net,
    kill: () => {
      killService('runtime-agent');
      killService('builder');
      sweepContainers(settings.dataRoot);
    },
    killService,
    restart: async () => {
      await platformUp({ dataRoot: settings.dataRoot, timeoutMs: 60_000 });
    },
  };
}
