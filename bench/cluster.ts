/**
 * bench/cluster: placement throughput (containers created and started per second, `--containers`
 * at a time, placed by the gateway) on a cluster of 3 hosts vs 1 host, and the time to recover a
 * lost host's restart-policy container (its agent and containers killed → running on another host).
 * Clusters are started by the bench (startTestCluster: random ports, temporary data roots).
 *
 *   npx tsx bench/cluster.ts [--containers 12] [--json]
 *
 * Cross-host container↔container throughput is not measured: there is no overlay network yet
 * (docs/dev/cluster.md, "Not built yet").
 */
import { parseArgs } from 'node:util';
import { startTestCluster, type TestCluster } from '@berth/testing';

const { values } = parseArgs({ options: { containers: { type: 'string', default: '12' }, json: { type: 'boolean', default: false } } });
const n = Number(values.containers);

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
  console.log(`a lost host's restart-policy container running elsewhere after ${results.recoveryMs} ms`);
}
