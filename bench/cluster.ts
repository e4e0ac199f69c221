/**
 * bench/cluster: placement throughput (containers created and started per second, `--containers`
 * at a time, placed by the gateway) on a cluster of 3 hosts vs 1 host, and the time to recover a
 * lost host's restart-policy container (its agent and containers killed → running on another host),
 * and container↔container TCP throughput on an overlay network, same host vs across hosts (VXLAN).
 * Clusters are started by the bench (startTestCluster: random ports, temporary data roots).
 *
 *   npx tsx bench/cluster.ts [--containers 12] [--mb 256] [--json]
 */
import { parseArgs } from 'node:util';
import { startTestCluster, type TestCluster } from '@berth/testing';

const { values } = parseArgs({
  options: { containers: { type: 'string', default: '12' }, mb: { type: 'string', default: '256' }, json: { type: 'boolean', default: false } },
});
const n = Number(values.containers);
const mb = Number(values.mb);

async function placement(cluster: TestCluster): Promise<{ seconds: number; perSecond: number; nodes: Record<string, number> }> {
  const started = process.hrtime.bigint();
  const runs = await Promise.all(Array.from({ length: n }, (_, i) => cluster.berth(['run', '-d', '--name', `bench-${i}`, 'busybox', 'sleep', '600'], { timeoutMs: 300_000 })));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const failed = runs.find((r) => r.code !== 0);
  if (failed) throw new Error(`berth run failed: ${failed.stderr}`);
  const ps = await cluster.berth(['ps', '--format', '{{.Node}}']);
  const nodes: Record<string, number> = {};
  for (const node of ps.stdout.trim().split('\n')) nodes[node] = (nodes[node] ?? 0) + 1;
  await cluster.berth(['rm', '-f', ...Array.from({ length: n }, (_, i) => `bench-${i}`)], { timeoutMs: 300_000 });
  return { seconds, perSecond: n / seconds, nodes };
}

/**
 * TCP throughput between containers of one overlay network: a sink on node-1 (busybox `nc -l`,
 * output discarded) and a sender on node-1 (same host: through the bridge) and on node-2 (across
 * hosts: VXLAN over the hosts' link), each sending `mb` MiB of zeros (`dd | nc`) three times; the
 * median rate. MiB/s per path.
 */
async function throughput(cluster: TestCluster): Promise<{ sameHost: number; crossHost: number; mtu: string }> {
  const berth = (args: string[]) => cluster.berth(args, { timeoutMs: 300_000 });
  const must = async (args: string[]) => {
    const r = await berth(args);
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  await must(['network', 'create', '-d', 'overlay', 'bench-ov']);
  try {
    await must(['run', '-d', '--name', 'bench-sink', '--network', 'bench-ov', '--node', 'node-1', 'busybox', 'sh', '-c', 'while true; do nc -l -p 5001 > /dev/null; done']);
    await must(['run', '-d', '--name', 'bench-near', '--network', 'bench-ov', '--node', 'node-1', 'busybox', 'sleep', '600']);
    await must(['run', '-d', '--name', 'bench-far', '--network', 'bench-ov', '--node', 'node-2', 'busybox', 'sleep', '600']);
    const rate = async (sender: string): Promise<number> => {
      const runs: number[] = [];
      for (let attempt = 0; runs.length < 3 && attempt < 20; attempt++) {
        // Timed inside the sender by /proc/uptime (10 ms steps) around `dd | nc`, which ends when
        // the sink has read everything and closed; a refused connect (the sink between two
        // listens) fails the pipe (pipefail), and that run is not counted.
        const script = `set -o pipefail; a=$(cut -d' ' -f1 /proc/uptime); dd if=/dev/zero bs=1M count=${mb} 2>/dev/null | nc bench-sink 5001 && b=$(cut -d' ' -f1 /proc/uptime) && echo "$a $b"`;
        const r = await berth(['exec', sender, 'sh', '-c', script]);
        const [a, b] = r.stdout.trim().split(' ').map(Number);
        if (r.code === 0 && a !== undefined && b !== undefined && b > a) runs.push(mb / (b - a));
      }
      if (runs.length < 3) throw new Error(`${sender}: fewer than 3 complete transfers to bench-sink`);
      return runs.sort((a, b) => a - b)[1]!;
    };
    const sameHost = await rate('bench-near');
    const crossHost = await rate('bench-far');
    const mtu = await must(['exec', 'bench-far', 'cat', '/sys/class/net/eth0/mtu']);
    return { sameHost, crossHost, mtu };
  } finally {
    await berth(['rm', '-f', 'bench-sink', 'bench-near', 'bench-far']);
    await berth(['network', 'rm', 'bench-ov']);
  }
}

async function recovery(cluster: TestCluster): Promise<number> {
  const run = await cluster.berth(['run', '-d', '--name', 'bench-keeper', '--restart', 'always', '--node', 'node-3', 'busybox', 'sleep', '600']);
  if (run.code !== 0) throw new Error(run.stderr);
  const lost = Date.now();
  cluster.hosts[2]!.kill();
  for (;;) {
    const ps = await cluster.berth(['ps', '--filter', 'name=bench-keeper', '--format', '{{.Node}} {{.State}}']);
    if (/^node-[12] running$/.test(ps.stdout.trim())) return Date.now() - lost;
    if (Date.now() - lost > 60_000) throw new Error('the lost host\'s container did not come back within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const results: Record<string, unknown> = { bench: 'cluster', containers: n };
for (const hosts of [1, 3]) {
  const cluster = await startTestCluster(hosts);
  try {
    const boot = await cluster.berth(['image', 'bootstrap', 'busybox'], { env: { BERTH_NODE: 'node-1' } });
    if (boot.code !== 0) throw new Error(boot.stderr);
    results[`placement${hosts}`] = await placement(cluster);
    if (hosts === 3) results.throughput = await throughput(cluster);
    if (hosts === 3) results.recoveryMs = await recovery(cluster);
  } finally {
    await cluster.stop();
  }
}
if (values.json) console.log(JSON.stringify(results));
else {
  const p1 = results.placement1 as { perSecond: number; seconds: number };
  const p3 = results.placement3 as { perSecond: number; seconds: number; nodes: Record<string, number> };
  console.log(`placement, ${n} containers at once: 1 host ${p1.perSecond.toFixed(2)}/s (${p1.seconds.toFixed(1)} s), 3 hosts ${p3.perSecond.toFixed(2)}/s (${p3.seconds.toFixed(1)} s) spread ${JSON.stringify(p3.nodes)}`);
  const t = results.throughput as { sameHost: number; crossHost: number; mtu: string };
  console.log(`container↔container TCP on an overlay network (${mb} MiB, median of 3): same host ${t.sameHost.toFixed(0)} MiB/s, across hosts (VXLAN, MTU ${t.mtu}) ${t.crossHost.toFixed(0)} MiB/s`);
  console.log(`a lost host's restart-policy container running elsewhere after ${results.recoveryMs} ms`);
}
