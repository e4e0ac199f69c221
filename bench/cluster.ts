/**
 * bench/cluster: placement throughput (containers created and started per second, `--containers`
 * at a time, placed by the gateway) on a cluster of 3 hosts vs 1 host, and the time to recover a
 * lost host's restart-policy container (its agent and containers killed → running on another host),
 * and container↔container TCP throughput on an overlay network, same host vs across hosts (VXLAN).
 * Clusters are started by the bench (startTestCluster: random ports, temporary data roots).
 *
 *   npx tsx bench/cluster.ts [--containers 12] [--mb 256] [--json]
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
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
 * TCP throughput between containers of one overlay network: a sink on node-1, and a sender on
 * node-1 (same host: veth → bridge → veth) and one on node-2 (across hosts: veth → bridge → VXLAN
 * over the hosts' link → bridge → veth), each sending `mb` MiB three times; the median rate,
 * MiB/s, timed at the sink from the first byte to the end. The two ends are small Node programs run
 * in the containers' network namespaces (`nsenter --net=/proc/<pid>/ns/net`): busybox's nc copies
 * through a few-KiB buffer and would measure itself (about 70 MiB/s here even on loopback).
 */
async function throughput(cluster: TestCluster): Promise<{ sameHost: number; crossHost: number; mtu: string }> {
  const must = async (args: string[]) => {
    const r = await cluster.berth(args, { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  const netnsOf = async (name: string) => `--net=/proc/${await must(['inspect', '--format', '{{.State.Pid}}', name])}/ns/net`;
  await must(['network', 'create', '-d', 'overlay', 'bench-ov']);
  try {
    for (const [name, node] of [['bench-sink', 'node-1'], ['bench-near', 'node-1'], ['bench-far', 'node-2']]) {
      await must(['run', '-d', '--name', name!, '--network', 'bench-ov', '--node', node!, 'busybox', 'sleep', '600']);
    }
    const sinkIp = await must(['inspect', '--format', '{{(index .NetworkSettings.Networks "bench-ov").IPAddress}}', 'bench-sink']);
    // One line per connection: MiB/s from its first byte to its end.
    const sinkJs = `require('net').createServer((s) => { let n = 0, t0 = 0; s.on('data', (d) => { if (!t0) t0 = performance.now(); n += d.length }); s.on('end', () => { console.log(n / 1048576 / ((performance.now() - t0) / 1000)); s.end() }) }).listen(5001, '${sinkIp}', () => console.log('ready'))`;
    const sink = spawn('nsenter', [await netnsOf('bench-sink'), process.execPath, '-e', sinkJs], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: sink.stdout! });
    const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
    try {
      if ((await next()) !== 'ready') throw new Error('the sink did not start');
      const rate = async (sender: string): Promise<number> => {
        const senderJs = `const s = require('net').connect(5001, '${sinkIp}'); const buf = Buffer.alloc(1048576); let left = ${mb}; const pump = () => { while (left > 0) { left--; if (!s.write(buf)) return s.once('drain', pump) } s.end() }; s.on('connect', pump); s.on('close', () => process.exit(0)); s.on('error', (e) => { console.error(e.message); process.exit(1) })`;
        const runs: number[] = [];
        for (let i = 0; i < 3; i++) {
          const done = next();
          const r = spawnSync('nsenter', [await netnsOf(sender), process.execPath, '-e', senderJs], { encoding: 'utf8', timeout: 120_000 });
          if (r.status !== 0) throw new Error(`${sender}: ${r.stderr}`);
          runs.push(Number(await done));
        }
        return runs.sort((a, b) => a - b)[1]!;
      };
      const sameHost = await rate('bench-near');
      const crossHost = await rate('bench-far');
      const mtu = await must(['exec', 'bench-far', 'cat', '/sys/class/net/eth0/mtu']);
      return { sameHost, crossHost, mtu };
    } finally {
      sink.kill();
    }
  } finally {
    await cluster.berth(['rm', '-f', 'bench-sink', 'bench-near', 'bench-far'], { timeoutMs: 300_000 });
    await cluster.berth(['network', 'rm', 'bench-ov']);
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
