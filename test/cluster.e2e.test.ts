/**
 * Many hosts, one engine (issue 14), end to end through the real CLI, gateway, nats-server and three
 * runtime agents, each with its own data root, run root and host id (startTestCluster): the gateway
 * view (ps, inspect, logs, exec, stop, rm across hosts), unique names, placement (spread, --node,
 * --constraint), images following containers, `node ls`, and losing a host. One cluster per file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, tempDir, until, untilNow, type TestCluster } from '@berth/testing';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

let cluster: TestCluster;
const berth = (args: string[], env?: Record<string, string>) => cluster.berth(args, env ? { env } : {});

// busybox is on node-1 only: containers placed elsewhere get it from there.
beforeAll(async () => void (cluster = await startTestCluster(3, { busybox: true })), 240_000);
afterAll(() => cluster?.stop(), 120_000);


/** name → node of every container (`ps -a --format`). */
async function placements(): Promise<Map<string, string>> {
  const ps = await berth(['ps', '-a', '--format', '{{.Names}} {{.Node}} {{.State}}']);
  expect(ps.code, ps.stderr).toBe(0);
  return new Map(ps.stdout.trim().split('\n').filter(Boolean).map((l) => [l.split(' ')[0]!, l.split(' ').slice(1).join(' ')]));
}

describe('a cluster of three hosts', () => {
  it('lists its nodes, ready, with their names and labels', async () => {
    const ls = await berth(['node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.Availability}} {{.Labels}}']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.trim().split('\n')).toEqual(['node-1 ready active zone=z1', 'node-2 ready active zone=z2', 'node-3 ready active zone=z3']);
  });

  it('spreads containers over the hosts and serves each by name from any host', async () => {
    for (const name of ['s1', 's2', 's3']) {
      const run = await berth(['run', '-d', '--name', name, 'busybox', 'sh', '-c', `echo hello from ${name}; sleep 600`]);
      expect(run.code, run.stderr).toBe(0);
    }
    const where = await placements();
    expect(new Set(['s1', 's2', 's3'].map((n) => where.get(n)?.split(' ')[0])).size).toBe(3);
    // The image moved to the hosts that lacked it, through the cluster registry (node-1 pushed it
    // once, the others pulled it), under a transfer name none of them keeps.
    const images = await berth(['images', '--format', '{{.Repository}}']);
    expect(images.stdout.trim().split('\n')).toEqual(['busybox']);
    const moves = await berth(['events', '--since', '10m', '--until', untilNow(), '--filter', 'type=image', '--format', '{{.Action}} {{.Actor.Attributes.name}}']);
    const lines = moves.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('push berth.localhost/berth-cluster/image:')).length).toBeGreaterThanOrEqual(1);
    expect(lines.filter((l) => l.startsWith('pull berth.localhost/berth-cluster/image:')).length).toBe(2);
    for (const name of ['s1', 's2', 's3']) {
      const logs = await until(() => berth(['logs', name]), (r) => r.stdout.includes('hello'));
      expect(logs.stdout).toBe(`hello from ${name}\n`);
      const exec = await berth(['exec', name, 'hostname']);
      expect(exec.code, exec.stderr).toBe(0);
      expect((await berth(['inspect', '--format', '{{.Name}}', name])).stdout.trim()).toBe(`/${name}`);
    }
    const filtered = await berth(['ps', '--filter', `node=${where.get('s2')!.split(' ')[0]}`, '--format', '{{.Names}}']);
    expect(filtered.stdout.trim()).toBe('s2');
    expect((await berth(['stop', '-t', '1', 's1', 's2', 's3'])).code).toBe(0);
    expect([...(await placements()).values()].every((v) => v.endsWith('exited'))).toBe(true);
    const rm = await berth(['rm', 's1', 's2', 's3']);
    expect(rm.code, rm.stderr).toBe(0);
    expect((await placements()).size).toBe(0);
  }, 120_000);

  it('keeps names unique across hosts', async () => {
    expect((await berth(['create', '--name', 'only', '--node', 'node-2', 'busybox'])).code).toBe(0);
    const again = await berth(['create', '--name', 'only', '--node', 'node-3', 'busybox']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('Conflict. The container name "/only" is already in use by container');
    expect(again.stderr).toContain('on node "node-2"');
    expect((await berth(['rm', 'only'])).code).toBe(0);
  }, 60_000);

  it('places by --node and --constraint, and says why nothing fits', async () => {
    expect((await berth(['create', '--name', 'pinned', '--node', 'node-3', 'busybox'])).code).toBe(0);
    expect((await berth(['create', '--name', 'zoned', '--constraint', 'node.labels.zone==z2', 'busybox'])).code).toBe(0);
    const where = await placements();
    expect(where.get('pinned')).toBe('node-3 created');
    expect(where.get('zoned')).toBe('node-2 created');
    const none = await berth(['create', '--constraint', 'node.labels.zone==z9', 'busybox']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('Cannot place the container: no active node meets the constraints "node.labels.zone==z9" (nodes: node-1, node-2, node-3)');
    const bad = await berth(['create', '--constraint', 'zone=z1', 'busybox']);
    expect(bad.stderr).toContain('Invalid constraint "zone=z1"');
    expect((await berth(['rm', 'pinned', 'zoned'])).code).toBe(0);
  }, 60_000);

  it('spreads the replicas of a compose service over the hosts', async () => {
    await using dir = tempDir('berth-cluster-compose-');
    const file = join(dir.path, 'compose.yaml');
    writeFileSync(file, 'services:\n  worker:\n    image: busybox\n    command: ["sleep", "600"]\n    deploy:\n      replicas: 3\n');
    const compose = (args: string[]) => cluster.berth(['compose', '-f', file, '-p', 'spread', ...args], { timeoutMs: 120_000 });
    try {
      const up = await compose(['up', '-d']);
      expect(up.code, up.stderr).toBe(0);
      const ps = await berth(['ps', '--filter', 'label=com.docker.compose.project=spread', '--format', '{{.Node}}']);
      expect(ps.stdout.trim().split('\n').sort()).toEqual(['node-1', 'node-2', 'node-3']);
    } finally {
      const down = await compose(['down', '-t', '1']);
      expect(down.code, down.stderr).toBe(0);
    }
  }, 120_000);

  it('places compose services by deploy.placement: constraints, node.role, max_replicas_per_node', async () => {
    await using dir = tempDir('berth-cluster-placement-');
    const file = join(dir.path, 'compose.yaml');
    const sleeper = '    image: busybox\n    command: ["sleep", "600"]\n';
    writeFileSync(
      file,
      `services:\n  pinned:\n${sleeper}    deploy:\n      placement:\n        constraints: [node.hostname==node-2]\n` +
        `  workers:\n${sleeper}    deploy:\n      replicas: 2\n      placement:\n        constraints: [node.role == worker]\n        max_replicas_per_node: 1\n` +
        `  zoned:\n${sleeper}    deploy:\n      replicas: 2\n      placement:\n        preferences: [{spread: node.labels.zone}]\n        constraints: [node.labels.zone!=z3]\n`,
    );
    const compose = (args: string[], project = 'placed') => cluster.berth(['compose', '-f', file, '-p', project, ...args], { timeoutMs: 120_000 });
    try {
      const up = await compose(['up', '-d']);
      expect(up.code, up.stderr).toBe(0);
      const ps = await berth(['ps', '--filter', 'label=com.docker.compose.project=placed', '--format', '{{.Names}} {{.Node}}']);
      const nodes = new Map(ps.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
      expect(nodes.get('placed-pinned-1')).toBe('node-2');
      // node-1 runs the platform (`platform up`: a manager); joined hosts are workers.
      expect([nodes.get('placed-workers-1'), nodes.get('placed-workers-2')].sort()).toEqual(['node-2', 'node-3']);
      expect([nodes.get('placed-zoned-1'), nodes.get('placed-zoned-2')].sort()).toEqual(['node-1', 'node-2']);
      // A third worker replica has nowhere to go: refused with why, the running ones untouched.
      const scaled = await compose(['up', '-d', '--scale', 'workers=3', 'workers']);
      expect(scaled.code).not.toBe(0);
      expect(scaled.stderr).toContain('max_replicas_per_node: 1');
    } finally {
      const down = await compose(['down', '-t', '1']);
      expect(down.code, down.stderr).toBe(0);
    }
  }, 180_000);

  it("weighs memory reservations against each node's memory, and says why nothing fits", async () => {
    // Every test host is this machine: each announces its whole memory (24 GiB here, less elsewhere).
    const total = Number((await berth(['node', 'inspect', 'node-1', '--format', '{{.Description.Resources.MemoryBytes}}'])).stdout.trim());
    expect(total).toBeGreaterThan(0);
    const most = `${Math.floor((total * 0.8) / 2 ** 20)}m`;
    try {
      const first = await berth(['create', '--name', 'reserved-1', '--node', 'node-1', '--memory-reservation', most, 'busybox']);
      expect(first.code, first.stderr).toBe(0);
      const second = await berth(['create', '--name', 'reserved-2', '--node', 'node-1', '--memory-reservation', most, 'busybox']);
      expect(second.code).not.toBe(0);
      expect(second.stderr).toMatch(/Cannot place the container on node "node-1": only \d+ MiB of memory free/);
      // Not pinned: it goes where there is room.
      const elsewhere = await berth(['create', '--name', 'reserved-2', '--memory-reservation', most, 'busybox']);
      expect(elsewhere.code, elsewhere.stderr).toBe(0);
      expect((await placements()).get('reserved-2')).not.toMatch(/^node-1 /);
      const tooBig = await berth(['create', '--name', 'reserved-3', '-m', `${Math.ceil((total * 1.5) / 2 ** 20)}m`, 'busybox']);
      expect(tooBig.code).not.toBe(0);
      expect(tooBig.stderr).toMatch(/Cannot place the container: no node has \d+ MiB of memory free to reserve \(node-1: only \d+ MiB of memory free; node-2: only/);
    } finally {
      await berth(['rm', '-f', 'reserved-1', 'reserved-2']);
    }
  }, 60_000);

  it('does not place on a drained node', async () => {
    expect((await berth(['node', 'update', '--availability', 'drain', 'node-1'])).code).toBe(0);
    const refused = await berth(['create', '--node', 'node-1', 'busybox']);
    expect(refused.stderr).toContain('Cannot place the container on node "node-1": its availability is "drain"');
    const ls = await berth(['node', 'ls', '--format', '{{.Hostname}} {{.Availability}}']);
    expect(ls.stdout).toContain('node-1 drain');
    expect((await berth(['node', 'update', '--availability', 'active', 'node-1'])).code).toBe(0);
  }, 60_000);

  it('brings a lost host\'s restart-policy containers back on the others, and removes its duplicates when it returns', async () => {
    const run = await berth(['run', '-d', '--name', 'keeper', '--restart', 'always', '--node', 'node-3', 'busybox', 'sleep', '600']);
    expect(run.code, run.stderr).toBe(0);
    const host3 = cluster.hosts[2]!;
    const lost = Date.now();
    host3.kill();
    const moved = await until(placements, (m) => /^node-[12] running$/.test(m.get('keeper') ?? ''), { timeoutMs: 30_000 });
    const recovery = Date.now() - lost;
    expect(moved.get('keeper')).toMatch(/^node-[12] running$/);
    expect(recovery).toBeLessThan(10_000);
    const down = await berth(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']);
    expect(down.stdout).toContain('node-3 down');
    // The host comes back: ready again, and the keeper it still has is removed (it runs elsewhere).
    await host3.restart();
    const back = await until(() => berth(['node', 'ls', '--format', '{{.Hostname}} {{.Status}}']), (r) => r.stdout.includes('node-3 ready'), { timeoutMs: 30_000 });
    expect(back.stdout).toContain('node-3 ready');
    const once = await until(
      async () => (await berth(['ps', '-a', '--filter', 'name=keeper', '--format', '{{.Node}}'])).stdout.trim().split('\n'),
      (nodes) => nodes.length === 1,
      { timeoutMs: 30_000 },
    );
    expect(once).toEqual([moved.get('keeper')!.split(' ')[0]]);
    console.log(`cluster: a lost host's container ran again elsewhere ${recovery} ms after the host died`);
  }, 180_000);
});
