/**
 * Several gateways at once (issue 14: "any gateway, several may run, on any host, serves the whole
 * cluster"), end to end: a cluster of three hosts (startTestCluster: a NATS cluster, one nats-server
 * per host) with its own gateway on host 1 and a second one started on host 2, connected to host 2's
 * nats-server first (TestCluster.startGateway). What one gateway did, the other serves; the cluster
 * duties (lost hosts, drains) are done once, by the holder of the lease in KV `leases`; killing
 * gateway 1 leaves gateway 2 serving and doing the duties. One cluster per file.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, nkeyAuthenticator, type NatsConnection } from 'nats';
import { ClusterStore, inboxPrefix, LeaseBucket, natsTlsOptions } from '@berth/events';
import { natsCaFile, secretsOf } from '@berth/platform';
import { startTestCluster, tempDir, until, type CliResult, type TestCluster, type TestGateway } from '@berth/testing';

let cluster: TestCluster;
let gw2: TestGateway;
let nc: NatsConnection | undefined;
const gw1 = (args: string[]) => cluster.berth(args, { timeoutMs: 120_000 });
const gw2Berth = (args: string[]) => gw2.berth(args, { timeoutMs: 120_000 });

beforeAll(async () => {
  cluster = await startTestCluster(3, { busybox: true });
  gw2 = await cluster.startGateway({ host: 2 });
  nc = await asGateway();
}, 300_000);

afterAll(async () => {
  await nc?.close();
  await cluster?.stop();
}, 120_000);

/** A connection as the gateway (the identity that may read the `cluster` and `leases` buckets), to every server. */
async function asGateway(): Promise<NatsConnection> {
  const seed = new TextEncoder().encode(readFileSync(secretsOf(cluster.platform.dataRoot).nkeySeedFile('api'), 'utf8').trim());
  const servers = cluster.hosts.map((h) => `nats://${h.address}:${h.settings.natsPort}`);
  // NATS between the hosts is TLS with the cluster CA (libs/platform nats-tls.ts).
  const tls = natsTlsOptions(readFileSync(natsCaFile(cluster.platform.settings)!, 'utf8'));
  return connect({ servers, authenticator: nkeyAuthenticator(seed), inboxPrefix: inboxPrefix({ role: 'gateway' }), timeout: 5_000, tls });
}

const ok = (r: CliResult) => expect(r.code, r.stderr).toBe(0);
const lines = (r: CliResult) => r.stdout.trim().split('\n').filter(Boolean);
/** `<name> <node> <state>` of every container, through `berth` (a gateway's CLI). */
const rows = async (berth: (args: string[]) => Promise<CliResult>, ...filters: string[]) =>
  lines(await berth(['ps', '-a', ...filters.flatMap((f) => ['--filter', f]), '--format', '{{.Names}} {{.Node}} {{.State}}'])).sort();
/** The log lines (JSON) of both gateways saying `msg`. */
const logged = (msg: string) =>
  [readFileSync(join(cluster.platform.dataRoot, 'logs', 'api.log'), 'utf8'), gw2.log()].flatMap((text) => text.split('\n').filter((l) => l.includes(`"msg":"${msg}"`)));

describe('two gateways on one cluster', () => {
  it('serves through one gateway the containers made through the other: inspect, logs, exec, ps, rm', async () => {
    for (const [i, berth] of [gw1, gw2Berth, gw1].entries()) {
      ok(await berth(['run', '-d', '--name', `g${i + 1}`, '--node', `node-${i + 1}`, 'busybox', 'sh', '-c', `echo hello from g${i + 1}; sleep 600`]));
    }
    const all = ['g1 node-1 running', 'g2 node-2 running', 'g3 node-3 running'];
    expect(await rows(gw1)).toEqual(all);
    expect(await rows(gw2Berth)).toEqual(all);
    for (const [name, berth] of [['g1', gw2Berth], ['g2', gw1], ['g3', gw2Berth]] as const) {
      expect((await berth(['inspect', '--format', '{{.Name}}', name])).stdout.trim()).toBe(`/${name}`);
      const logs = await until(() => berth(['logs', name]), (r) => r.stdout.includes('hello'));
      expect(logs.stdout).toBe(`hello from ${name}\n`);
      const exec = await berth(['exec', name, 'sh', '-c', 'echo exec in $0', name]);
      ok(exec);
      expect(exec.stdout).toBe(`exec in ${name}\n`);
    }
    ok(await gw2Berth(['rm', '-f', 'g1', 'g2', 'g3']));
    expect(await rows(gw1)).toEqual([]);
    // Their placement records went with them, whichever gateway made them.
    expect((await new ClusterStore(nc!).placements()).filter((p) => /^g[123]$/.test(p.name))).toEqual([]);
  }, 180_000);

  it('creates a name once when both gateways create it at the same time', async () => {
    await using dir = tempDir('berth-gateways-twin-');
    writeFileSync(join(dir.path, 'marker'), 'twin\n');
    const layer = join(dir.path, 'layer.tar');
    expect(spawnSync('tar', ['-C', dir.path, '-cf', layer, 'marker']).status).toBe(0);
    for (const name of ['twin-a', 'twin-b', 'twin-c']) {
      // An image only node-1 has, created on node-2 and node-3: each create brings it there first
      // (seconds), a wide window between its name check and the container's existence.
      ok(await cluster.berth(['import', layer, `${name}:1`], { env: { BERTH_NODE: 'node-1' } }));
      const both = await Promise.all([gw1, gw2Berth].map((berth, i) => berth(['create', '--name', name, '--node', `node-${i + 2}`, `${name}:1`, '/marker'])));
      expect(both.filter((r) => r.code === 0), both.map((r) => r.stderr).join('')).toHaveLength(1);
      expect(both.find((r) => r.code !== 0)!.stderr).toMatch(new RegExp(`Conflict\\. The container name "/${name}" is already in use`));
      expect(await rows(gw2Berth, `name=^${name}$`)).toHaveLength(1);
    }
    ok(await gw1(['rm', 'twin-a', 'twin-b', 'twin-c']));
  }, 120_000);

  it("does not over-commit a node's memory when both gateways place on it at the same time", async () => {
    // Every test host is this machine: each announces its whole memory.
    const total = Number((await gw1(['node', 'inspect', 'node-1', '--format', '{{.Description.Resources.MemoryBytes}}'])).stdout.trim());
    expect(total).toBeGreaterThan(0);
    const most = `${Math.floor((total * 0.6) / 2 ** 20)}m`;
    for (const round of [1, 2, 3]) {
      const names = [`big-${round}a`, `big-${round}b`];
      const both = await Promise.all([gw1, gw2Berth].map((berth, i) => berth(['create', '--name', names[i]!, '--node', 'node-1', '--memory-reservation', most, 'busybox'])));
      try {
        // Each decided from lists without the other's container: the ledger in KV (or its refused write) tells.
        expect(both.filter((r) => r.code === 0), both.map((r) => r.stderr).join('')).toHaveLength(1);
        expect(both.find((r) => r.code !== 0)!.stderr).toMatch(/Cannot place the container on node "node-1": only \d+ MiB of memory free/);
      } finally {
        await gw1(['rm', '-f', ...names]);
      }
    }
  }, 120_000);

  it('lists and takes down through gateway 2 a compose project brought up through gateway 1', async () => {
    await using dir = tempDir('berth-gateways-compose-');
    const file = join(dir.path, 'compose.yaml');
    writeFileSync(file, 'services:\n  worker:\n    image: busybox\n    command: ["sleep", "600"]\n    deploy:\n      replicas: 2\n');
    const compose = (berth: (args: string[]) => Promise<CliResult>, args: string[]) => berth(['compose', '-f', file, '-p', 'twogw', ...args]);
    ok(await compose(gw1, ['up', '-d']));
    const ls = await gw2Berth(['compose', 'ls', '--format', 'json']);
    ok(ls);
    expect(JSON.parse(ls.stdout)).toContainEqual(expect.objectContaining({ Name: 'twogw', Status: 'running(2)', Declared: 'running' }));
    expect(lines(await compose(gw2Berth, ['ps', '--format', '{{.Name}}'])).sort()).toEqual(['twogw-worker-1', 'twogw-worker-2']);
    ok(await compose(gw2Berth, ['down', '-t', '1']));
    expect(await rows(gw1, 'label=com.docker.compose.project=twogw')).toEqual([]);
    const after = await gw1(['compose', 'ls', '-a', '--format', 'json']);
    ok(after);
    expect((JSON.parse(after.stdout) as Array<{ Name: string }>).map((p) => p.Name)).not.toContain('twogw');
  }, 180_000);

  it('drains a node set to drain through either gateway, once, by the lease holder', async () => {
    // --stop-timeout 1: the drain stops the original with its stop timeout, and sleep (pid 1) ignores SIGTERM.
    ok(await gw1(['run', '-d', '--name', 'drained', '--restart', 'always', '--stop-timeout', '1', '--node', 'node-3', 'busybox', 'sleep', '600']));
    const holder = await new LeaseBucket(nc!).holder('cluster-duties');
    expect(holder).toBeDefined();
    try {
      // Asked through gateway 2; gateway 1 (the holder, it started first) sees the record change and drains.
      ok(await gw2Berth(['node', 'update', '--availability', 'drain', 'node-3']));
      const moved = await until(() => rows(gw1, 'name=drained'), (r) => r.length === 1 && /^drained node-[12] running$/.test(r[0]!), { timeoutMs: 60_000 });
      expect(moved).toHaveLength(1);
      expect(moved[0]).toMatch(/^drained node-[12] running$/);
      const drained = await until(() => gw2Berth(['node', 'inspect', '--format', '{{.Drain.State}}', 'node-3']), (r) => r.stdout.trim() === 'drained', { timeoutMs: 20_000 });
      expect(drained.stdout.trim()).toBe('drained');
      // Drained by one gateway: no second drain tried to move it too (and found its name taken).
      expect(logged('Moved a container off a drained node').filter((l) => l.includes('"name":"drained"'))).toHaveLength(1);
      expect(logged('A container stays on a drained node: it cannot move').filter((l) => l.includes('"name":"drained"'))).toEqual([]);
    } finally {
      ok(await gw1(['node', 'update', '--availability', 'active', 'node-3']));
      ok(await gw1(['rm', '-f', 'drained']));
    }
  }, 120_000);

  it("places a lost host's restart-policy container again exactly once while two gateways run", async () => {
    ok(await gw2Berth(['run', '-d', '--name', 'keeper', '--restart', 'always', '--node', 'node-3', 'busybox', 'sleep', '600']));
    const host3 = cluster.hosts[2]!;
    host3.kill();
    const moved = await until(() => rows(gw1, 'name=keeper'), (r) => r.length === 1 && /^keeper node-[12] running$/.test(r[0]!), { timeoutMs: 40_000 });
    expect(moved[0]).toMatch(/^keeper node-[12] running$/);
    // Settled: both gateways say node-3 is down, and the one record of the keeper names the new host.
    for (const berth of [gw1, gw2Berth]) {
      const ls = await until(() => berth(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']), (r) => r.stdout.includes('node-3 down'));
      expect(ls.stdout).toContain('node-3 down');
    }
    const records = (await new ClusterStore(nc!).placements()).filter((p) => p.name === 'keeper');
    expect(records.map((p) => p.hostId)).toEqual([cluster.hosts.find((h) => h.name === moved[0]!.split(' ')[1])!.hostId]);
    expect(await rows(gw2Berth, 'name=keeper')).toEqual(moved);
    // Rescheduled by one gateway: no second one tried to place it again (and found its name taken).
    expect(logged('Rescheduled a container of a lost host').filter((l) => l.includes('"name":"keeper"'))).toHaveLength(1);
    expect(logged('Cannot reschedule a container of a lost host').filter((l) => l.includes('"name":"keeper"'))).toEqual([]);
    // Back: its old keeper is removed (once), the one elsewhere stays.
    await host3.restart();
    const back = await until(() => rows(gw2Berth, 'name=keeper'), (r) => r.length === 1 && (r[0] ?? '') === moved[0], { timeoutMs: 40_000 });
    expect(back).toEqual(moved);
    ok(await gw1(['rm', '-f', 'keeper']));
  }, 180_000);

  it('keeps serving through gateway 2 when gateway 1 dies, and gateway 2 takes the duties over', async () => {
    const ready = await until(() => gw2Berth(['node', 'ls', '--format', '{{.Status}}']), (r) => lines(r).filter((l) => l === 'ready').length === 3, { timeoutMs: 30_000 });
    expect(lines(ready)).toEqual(['ready', 'ready', 'ready']);
    ok(await gw2Berth(['run', '-d', '--name', 'survivor', '--restart', 'always', '--node', 'node-3', 'busybox', 'sleep', '600']));
    // Gateway 1 (the lease holder) and host 3 die together: nobody reschedules until the lease lapses.
    const died = Date.now();
    cluster.hosts[0]!.killService('api');
    cluster.hosts[2]!.kill();
    expect(lines(await gw2Berth(['ps', '--format', '{{.Names}}']))).toEqual([]);
    ok(await gw2Berth(['run', '-d', '--name', 'after', '--node', 'node-2', 'busybox', 'sleep', '600']));
    const moved = await until(() => rows(gw2Berth, 'name=survivor'), (r) => r.length === 1 && /^survivor node-[12] running$/.test(r[0]!), { timeoutMs: 60_000 });
    expect(moved[0]).toMatch(/^survivor node-[12] running$/);
    const holder = await new LeaseBucket(nc!).holder('cluster-duties');
    expect(holder?.holder).toContain(`/${gw2.pid}/`);
    console.log(`gateways: a lost host's container ran again ${Date.now() - died} ms after it died with the lease holder`);
    ok(await gw2Berth(['rm', '-f', 'survivor', 'after']));
  }, 180_000);
});
