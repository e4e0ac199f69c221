/**
 * A NATS cluster formed across machines by join token (issue 14): host 1 runs `platform up
 * --nats-cluster --address`, hosts 2 and 3 (network namespaces of their own) run `platform up
 * --join nats://… --token …` reading nothing of host 1's data root. Host 2 joins while host 1's
 * JetStream waits for a quorum (host 1's `up` answers that join itself), host 3 through host 1's
 * gateway; each joined host runs a nats-server of its own, written from its join answer and kept
 * by its agent from KV `nats-members`; the gateway replicates the streams on the three. Then a
 * container runs on each host, a nats-server is killed and nothing visible changes, and `node rm`
 * lets a host's keys out of every server. One cluster per file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, nkeyAuthenticator, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_BUCKET, EVENTS_STREAM, HOSTS_BUCKET, NATS_MEMBERS_BUCKET, inboxPrefix, kvStream } from '@berth/events';
import { clusterJoinToken, natsCaFile, natsTlsOption, platformDown, secretsOf } from '@berth/platform';
import { BERTH_CLI, runCli, startTestCluster, tempDir, until, type TestCluster, type TestHost } from '@berth/testing';

let cluster: TestCluster;
const berth = (args: string[], env?: Record<string, string>) => cluster.berth(args, env ? { env } : {});
const pidOf = (host: TestHost, service: string) => Number(readFileSync(`${host.settings.runRoot}/platform/${service}.pid`, 'utf8').trim());

beforeAll(async () => {
  const started = Date.now();
  cluster = await startTestCluster(3, { joinByToken: true, busybox: true });
  console.log(`nats-cluster-join: host 1 up, hosts 2 and 3 joined by token, 3 nodes ready and busybox on node-1 in ${Date.now() - started} ms`);
}, 300_000);
afterAll(() => cluster?.stop(), 120_000);

/** A connection as the gateway (the only identity that may read streams' state), to every server. */
async function asGateway(): Promise<NatsConnection> {
  const seed = new TextEncoder().encode(readFileSync(secretsOf(cluster.platform.dataRoot).nkeySeedFile('api'), 'utf8').trim());
  const servers = cluster.hosts.map((h) => `nats://${h.address}:${h.settings.natsPort}`);
  return connect({ servers, authenticator: nkeyAuthenticator(seed), inboxPrefix: inboxPrefix({ role: 'gateway' }), timeout: 5_000, ...natsTlsOption(natsCaFile(cluster.platform.settings)) });
}

/** Whether `host`'s nats-server lets in the nkey of `seedFile` ('admitted', or the refusal). */
async function admits(host: TestHost, seedFile: string): Promise<string> {
  const seed = new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim());
  try {
    const tls = natsTlsOption(natsCaFile(cluster.platform.settings));
    await (await connect({ servers: `nats://${host.address}:${host.settings.natsPort}`, authenticator: nkeyAuthenticator(seed), reconnect: false, timeout: 2_000, ...tls })).close();
    return 'admitted';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('a NATS cluster joined across machines by token', () => {
  it('forms from the first host and two token joins, nothing read from the first host\'s data root', async () => {
    const [first, second, third] = cluster.hosts as [TestHost, TestHost, TestHost];
    expect((await berth(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}'])).stdout.trim().split('\n')).toEqual(['node-1 ready', 'node-2 ready', 'node-3 ready']);
    for (const host of [second, third]) {
      expect(JSON.stringify(host.settings)).not.toContain(first.dataRoot);
      expect(host.settings.natsRoutePort).toBeGreaterThan(0);
      // Its own nats-server, in its namespace, on its address, first in its services' --nats.
      expect(readFileSync(`/proc/${pidOf(host, 'nats')}/cmdline`, 'utf8')).toContain(join(host.dataRoot, 'secrets', 'nats-server.conf'));
      const agentArgs = readFileSync(join(host.settings.runRoot, 'platform', 'runtime-agent.cmdline'), 'utf8').split('\0');
      expect(agentArgs.find((a) => a.startsWith('--nats='))).toMatch(new RegExp(`^--nats=nats://${host.address.replace(/\./g, '\\.')}:${host.settings.natsPort},`));
      expect(agentArgs).toContain(`--nats-config=${join(host.dataRoot, 'secrets', 'nats-server.conf')}`);
      expect(agentArgs.join(' ')).not.toContain(first.dataRoot);
      // Its routes are mutual TLS with the route certificate its join got (its key made here).
      const config = readFileSync(secretsOf(host.dataRoot).natsConfig, 'utf8');
      expect(config).toContain(`cert_file: ${JSON.stringify(join(host.dataRoot, 'secrets', 'tls', 'route.pem'))}`);
      expect(config).toContain('verify: true');
    }
    // Host 2 joined before host 3: its agent rewrote its nats-server's config from KV nats-members
    // (host 3's route and keys), so host 3's agent may connect to host 2's server.
    const host3Agent = secretsOf(third.dataRoot).nkeySeedFile('runtime-agent');
    expect(await until(() => admits(second, host3Agent), (r) => r === 'admitted', { timeoutMs: 20_000 })).toBe('admitted');
    expect(readFileSync(secretsOf(second.dataRoot).natsConfig, 'utf8')).toContain(`${third.address}:${third.settings.natsRoutePort}`);

    // The gateway replicated the streams on the three servers once the third had joined.
    const nc = await asGateway();
    try {
      const jsm = await nc.jetstreamManager();
      for (const stream of [EVENTS_STREAM, kvStream(HOSTS_BUCKET), kvStream(CLUSTER_BUCKET), kvStream(NATS_MEMBERS_BUCKET)]) {
        const info = await until(() => jsm.streams.info(stream), (i) => i.config.num_replicas === 3 && (i.cluster?.replicas?.length ?? 0) === 2, { timeoutMs: 30_000 });
        expect(info.config.num_replicas, stream).toBe(3);
        expect(new Set([info.cluster!.leader, ...info.cluster!.replicas!.map((r) => r.name)]), stream).toEqual(new Set(cluster.hosts.map((h) => h.hostId)));
      }
    } finally {
      await nc.close();
    }
  }, 90_000);

  it('runs a container on each host and keeps answering when a nats-server is killed', async () => {
    for (const host of cluster.hosts) {
      const run = await berth(['run', '-d', '--name', `on-${host.name}`, '--node', host.name, 'busybox', 'sleep', '600']);
      expect(run.code, run.stderr).toBe(0);
    }
    const ps = await berth(['ps', '--format', '{{.Names}} {{.Node}} {{.State}}']);
    expect(ps.stdout.trim().split('\n').sort()).toEqual(['on-node-1 node-1 running', 'on-node-2 node-2 running', 'on-node-3 node-3 running']);

    cluster.hosts[0]!.killService('nats'); // host 1's: its gateway, registry and agent were on it
    const killed = Date.now();
    const nodes = await until(
      () => berth(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']),
      (r) => r.code === 0 && r.stdout.trim() === 'node-1 ready\nnode-2 ready\nnode-3 ready',
      { timeoutMs: 30_000 },
    );
    expect(nodes.stdout.trim()).toBe('node-1 ready\nnode-2 ready\nnode-3 ready');
    const after = await until(() => berth(['run', '-d', '--name', 'after-kill', '--node', 'node-3', 'busybox', 'sleep', '600']), (r) => r.code === 0, { timeoutMs: 30_000 });
    expect(after.code, after.stderr).toBe(0);
    const psAfter = await berth(['ps', '--format', '{{.Names}} {{.Node}}']);
    expect(psAfter.stdout.trim().split('\n').sort()).toEqual(['after-kill node-3', 'on-node-1 node-1', 'on-node-2 node-2', 'on-node-3 node-3']);
    console.log(`nats-cluster-join: after host 1's nats-server was killed, node ls and run -d answered within ${Date.now() - killed} ms`);

    await cluster.hosts[0]!.restart();
    const back = await until(() => berth(['ps', '--format', '{{.Names}}']), (r) => r.code === 0 && r.stdout.split('\n').filter(Boolean).length === 4, { timeoutMs: 30_000 });
    expect(back.code, back.stderr).toBe(0);
    const rm = await berth(['rm', '-f', 'on-node-1', 'on-node-2', 'on-node-3', 'after-kill']);
    expect(rm.code, rm.stderr).toBe(0);
  }, 180_000);

  it('refuses a join with a token of another CA, leaving no process or file', async () => {
    const { token, url } = await clusterJoinToken({ dataRoot: cluster.platform.dataRoot });
    const [, , seed] = token.split('-');
    await using dir = tempDir('berth-e2e-refused-');
    const dataRoot = join(dir.path, 'host');
    const address = cluster.hosts[0]!.address.replace(/\.\d+$/, '.200');
    const forged = `BERTH1-${'0'.repeat(64)}-${seed}`;
    const up = await runCli(BERTH_CLI, ['platform', 'up', '--data-root', dataRoot, '--join', url, '--address', address], {
      env: { ...process.env, BERTH_JOIN_TOKEN: forged },
      timeoutMs: 60_000,
    });
    expect(up.code).not.toBe(0);
    expect(up.stderr).toContain(`not of the join token's CA sha256:${'0'.repeat(64)}`);
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      expect(cmdline).not.toContain(dataRoot);
    }
    for (const file of ['platform.json', 'secrets', 'host-id', 'run', 'nats']) expect(existsSync(join(dataRoot, file)), file).toBe(false);
  }, 90_000);

  it('lets a removed node\'s keys out of every nats-server (node rm)', async () => {
    const [, second, third] = cluster.hosts as [TestHost, TestHost, TestHost];
    await platformDown({ dataRoot: third.dataRoot });
    await until(() => berth(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']), (r) => r.stdout.includes('node-3 down'), { timeoutMs: 30_000 });
    const host3Agent = secretsOf(third.dataRoot).nkeySeedFile('runtime-agent');
    expect(await admits(second, host3Agent)).toBe('admitted');
    const rm = await berth(['node', 'rm', 'node-3']);
    expect(rm.code, rm.stderr).toBe(0);
    // Host 1's server at once; host 2's once its agent applied KV nats-members.
    expect(await until(() => admits(cluster.hosts[0]!, host3Agent), (r) => r !== 'admitted', { timeoutMs: 10_000 })).toMatch(/authorization violation/i);
    expect(await until(() => admits(second, host3Agent), (r) => r !== 'admitted', { timeoutMs: 20_000 })).toMatch(/authorization violation/i);
    expect(readFileSync(secretsOf(second.dataRoot).natsConfig, 'utf8')).not.toContain(third.hostId);
  }, 90_000);
});
