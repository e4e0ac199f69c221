/**
 * bench/run-latency: N × `berth run --rm busybox true` on a warm platform (started by the bench on
 * random ports with a temporary data root), printing the median and spread of the wall time of
 * the whole command, plus the CLI's own start-up (`berth --version`) to show its share.
 *
 *   npx tsx bench/run-latency.ts [--runs 30] [--json]
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { BERTH_CLI, startTestPlatform } from '@berth/testing';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' }, json: { type: 'boolean', default: false } } });
const runs = Number(values.runs);

function time(args: string[], env: NodeJS.ProcessEnv): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(BERTH_CLI, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`berth ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / s.length);
  return { n: s.length, median: q(0.5), p10: q(0.1), p90: q(0.9), min: s[0]!, max: s[s.length - 1]!, mean, sd };
}

const platform = await startTestPlatform();
try {
  const env = platform.env;
  if ((await platform.berth(['image', 'bootstrap', 'busybox'])).code !== 0) throw new Error('cannot make the busybox image');
  for (let i = 0; i < 3; i++) time(['run', '--rm', 'busybox', 'true'], env); // warm-up
  const run = stats(Array.from({ length: runs }, () => time(['run', '--rm', 'busybox', 'true'], env)));
  const cli = stats(Array.from({ length: Math.min(runs, 10) }, () => time(['--version'], env)));
  if (values.json) {
    console.log(JSON.stringify({ bench: 'run-latency', engine: 'berth', run, cliStartup: cli }));
  } else {
    const f = (v: number) => `${v.toFixed(0).padStart(6)} ms`;
    console.log(`berth run --rm busybox true   (${run.n} runs, warm platform)`);
    console.log(`  median ${f(run.median)}   p10 ${f(run.p10)}   p90 ${f(run.p90)}   min ${f(run.min)}   max ${f(run.max)}   sd ${f(run.sd)}`);
    console.log(`berth --version (CLI start-up alone, ${cli.n} runs)`);
    console.log(`  median ${f(cli.median)}   p10 ${f(cli.p10)}   p90 ${f(cli.p90)}`);
  }
} finally {
  await platform.stop();
}
