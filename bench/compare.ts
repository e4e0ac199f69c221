/**
 * bench/compare: every row of issue 11 for Berth, Docker and Podman in the same run, interleaved
 * (each round runs every engine once, in a rotating order, so that the load of a shared machine
 * falls on all of them alike), printing median, p10, p90 per engine and the paired ratios
 * (median over rounds of Berth's time ÷ the other engine's time in the same round), the target and
 * whether it is met (a relative target by that paired ratio, an absolute one by Berth's median), and
 * the load average. Engines: bench/compare-engines.ts.
 *
 *   npx tsx bench/compare.ts [--rounds 10] [--only run-rm,ps] [--engines berth,docker,podman] [--json]
 *
 * Rows the references cannot run print "n/a"; a reference that is not installed prints "not installed".
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Engine, installed, pairedRatio, rssKb, stats, ussKb, startBerth, startDistribution, startDocker, startPodman, timed } from './compare-engines.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    only: { type: 'string' },
    engines: { type: 'string', default: 'berth,docker,podman' },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
// helper-rss measures the 20 containers the ps row starts (and removes them): it needs that row.
const only = values.only?.split(',').flatMap((id) => (id === 'helper-rss' ? ['ps', id] : [id]));
const wanted = values.engines.split(',');

interface Target {
  /** Berth ≤ factor × Docker's median. */
  docker?: number;
  /** Berth ≤ factor × Podman's median. */
  podman?: number;
  /** Berth ≤ this many ms (or MB). */
  abs?: number;
}

interface Row {
  id: string;
  what: string;
  unit: 'ms' | 'MB';
  target: Target;
  /** Engines that cannot run it (their cells print n/a). */
  skip?: Engine['name'][];
  /** Rounds of this row (heavy rows run fewer). */
  rounds?: number;
  setup?: (e: Engine) => void;
  /** One sample of `e` (setup of the sample is not timed: the row's function times what it should). */
  sample: (e: Engine, round: number) => number;
  teardown?: (e: Engine) => void;
}

const cli = (e: Engine, args: string[]) => timed(e, args);
const ms = (e: Engine, args: string[]) => cli(e, args).ms;
const idOf = (out: string) => out.trim().split('\n').pop()!.trim();
const TRAP = "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done";

const buildDir = mkdtempSync(join(tmpdir(), 'berth-compare-'));
const context = join(buildDir, 'context');
makeContext(context, 2000);

const rows: Row[] = [
  { id: 'run-rm', what: 'run --rm busybox true', unit: 'ms', target: { docker: 0.6, podman: 1 }, sample: (e) => ms(e, ['run', '--rm', 'busybox', 'true']) },
  { id: 'run-rm-none', what: 'same, --network none', unit: 'ms', target: { podman: 1 }, sample: (e) => ms(e, ['run', '--rm', '--network', 'none', 'busybox', 'true']) },
  { id: 'version', what: 'CLI start alone (--version)', unit: 'ms', target: { abs: 40 }, sample: (e) => ms(e, ['--version']) },
  {
    id: 'inspect',
    what: 'inspect one container',
    unit: 'ms',
    target: { docker: 1.5 },
    setup: (e) => void cli(e, ['run', '-d', '--name', 'bench-inspect', 'busybox', 'sleep', '3600']),
    sample: (e) => ms(e, ['inspect', 'bench-inspect']),
    teardown: (e) => void cli(e, ['rm', '-f', 'bench-inspect']),
  },
  {
    id: 'ps',
    what: 'ps with 20 running',
    unit: 'ms',
    target: { docker: 1.5 },
    setup: (e) => {
      for (let i = 0; i < 20; i++) cli(e, ['run', '-d', '--name', `bench-ps-${i}`, 'busybox', 'sleep', '3600']);
    },
    sample: (e) => ms(e, ['ps']),
  },
  {
    id: 'helper-rss',
    what: 'per-container helper RSS MB (20 running)',
    unit: 'MB',
    target: { abs: 2 },
    rounds: 1,
    sample: (e) => {
      const pids = e.helperPids();
      return pids.length === 0 ? NaN : pids.reduce((s, p) => s + rssKb(p), 0) / pids.length / 1024;
    },
    teardown: (e) => void cli(e, ['rm', '-f', ...Array.from({ length: 20 }, (_, i) => `bench-ps-${i}`)]),
  },
  {
    id: 'run-d',
    what: 'run -d sleep until it returns',
    unit: 'ms',
    target: { podman: 1 },
    sample: (e) => {
      const r = cli(e, ['run', '-d', 'busybox', 'sleep', '3600']);
      cli(e, ['rm', '-f', idOf(r.stdout)]);
      return r.ms;
    },
  },
  {
    id: 'stop',
    what: 'stop of a TERM-trapping container',
    unit: 'ms',
    target: { docker: 1 },
    sample: (e) => {
      const id = idOf(cli(e, ['run', '-d', 'busybox', 'sh', '-c', TRAP]).stdout);
      const t = ms(e, ['stop', id]);
      cli(e, ['rm', '-f', id]);
      return t;
    },
  },
  {
    id: 'rm',
    what: 'rm of a stopped container',
    unit: 'ms',
    target: { docker: 1.5 },
    sample: (e) => {
      const id = idOf(cli(e, ['run', '-d', 'busybox', 'true']).stdout);
      cli(e, ['wait', id]);
      return ms(e, ['rm', id]);
    },
  },
  {
    id: 'run-d-20',
    what: '20 × run -d, one after another',
    unit: 'ms',
    target: { podman: 1 },
    rounds: Math.max(1, Math.ceil(rounds / 3)),
    sample: (e) => {
      const ids: string[] = [];
      let total = 0;
      for (let i = 0; i < 20; i++) {
        const r = cli(e, ['run', '-d', 'busybox', 'sleep', '3600']);
        total += r.ms;
        ids.push(idOf(r.stdout));
      }
      cli(e, ['rm', '-f', ...ids]);
      return total;
    },
  },
  {
    id: 'build-cold',
    what: 'build, cold (12 steps, 2,000-file context)',
    unit: 'ms',
    target: { docker: 1.2 },
    skip: ['podman'],
    rounds: Math.max(1, Math.ceil(rounds / 3)),
    sample: (e, round) => {
      // A fresh copy of the context (nothing synced before from that directory) and --no-cache.
      const dir = join(buildDir, `cold-${e.name}-${round}`);
      cpSync(context, dir, { recursive: true });
      const t = ms(e, ['build', '-q', '--no-cache', '-t', 'bench-build', dir]);
      rmSync(dir, { recursive: true, force: true });
      return t;
    },
  },
  {
    id: 'build-cached',
    what: 'build, fully cached, same',
    unit: 'ms',
    target: { docker: 1 },
    skip: ['podman'],
    setup: (e) => void cli(e, ['build', '-q', '-t', 'bench-build', context]),
    sample: (e) => ms(e, ['build', '-q', '-t', 'bench-build', context]),
  },
  {
    id: 'build-changed',
    what: 'build, one file changed',
    unit: 'ms',
    target: { docker: 1 },
    skip: ['podman'],
    sample: (e, round) => {
      writeFileSync(join(context, 'src', 'd7', 'f7.txt'), `changed ${e.name} ${round} ${Date.now()}\n`);
      return ms(e, ['build', '-q', '-t', 'bench-build', context]);
    },
  },
];

/** The 12-step Dockerfile and its 2,000-file context (as bench/build.ts's, with a user busybox has). */
function makeContext(dir: string, files: number): void {
  for (let i = 0; i < files; i++) {
    mkdirSync(join(dir, 'src', `d${i % 40}`), { recursive: true });
    writeFileSync(join(dir, 'src', `d${i % 40}`, `f${i}.txt`), `file ${i}\n`.repeat(20));
  }
  writeFileSync(join(dir, 'config.txt'), 'mode=bench\n');
  writeFileSync(
    join(dir, 'Dockerfile'),
    'FROM busybox\nARG VERSION=1\nENV APP=/app\nWORKDIR /app\nCOPY src/ ./src/\nRUN find src -type f | wc -l > /count\n' +
      'COPY config.txt /etc/app.conf\nRUN cat /etc/app.conf > /dev/null\nLABEL version=$VERSION\nUSER nobody\nRUN ls -la /app > /tmp/listing\nCMD ["cat", "/count"]\n',
  );
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`bench/compare: ${new Date().toISOString()}, ${rounds} rounds, load average ${load()}`);

const engines: Engine[] = [];
const missing: Record<string, string> = {};
const tmp = mkdtempSync(join(tmpdir(), 'berth-compare-engines-'));
let distribution: Awaited<ReturnType<typeof startDistribution>>;
try {
  const { engine: berth, platform } = await startBerth();
  engines.push(berth);
  const image = join(tmp, 'busybox.tar');
  const saved = await platform.berth(['save', '-o', image, 'busybox']);
  if (saved.code !== 0) throw new Error(`berth save busybox: ${saved.stderr}`);
  if (!wanted.includes('docker')) missing.docker = 'not asked for';
  else if (!installed('dockerd')) missing.docker = 'not installed (apt-get install docker.io)';
  else engines.push(await startDocker(join(tmp, 'docker'), image));
  if (!wanted.includes('podman')) missing.podman = 'not asked for';
  else if (!installed('podman')) missing.podman = 'not installed (apt-get install podman)';
  else engines.push(await startPodman(join(tmp, 'podman'), image));
  distribution = await startDistribution(join(tmp, 'distribution'), 20_000 + (process.pid % 10_000));
  for (const e of engines) for (let i = 0; i < 2; i++) cli(e, ['run', '--rm', 'busybox', 'true']); // warm-up

  const results: Array<{ row: Row; samples: Record<string, number[]>; load: string }> = [];
  const idle = (when: string) => {
    const samples: Record<string, number[]> = {};
    for (const e of engines) samples[e.name] = [e.daemonPids().reduce((s, p) => s + rssKb(p), 0) / 1024];
    results.push({ row: { id: 'idle-rss', what: `daemons idle RSS MB (${when})`, unit: 'MB', target: { abs: 120 }, sample: () => 0 }, samples, load: load() });
    const private_: Record<string, number[]> = {};
    for (const e of engines) private_[e.name] = [e.daemonPids().reduce((s, p) => s + ussKb(p), 0) / 1024];
    results.push({ row: { id: 'idle-uss', what: `  same, private memory (USS) MB`, unit: 'MB', target: {}, sample: () => 0 }, samples: private_, load: load() });
  };
  idle('after start');
  for (const row of rows) {
    if (only && !only.includes(row.id)) continue;
    const active = engines.filter((e) => !row.skip?.includes(e.name));
    const samples: Record<string, number[]> = Object.fromEntries(active.map((e) => [e.name, []]));
    for (const e of active) row.setup?.(e);
    const n = row.rounds ?? rounds;
    for (let r = 0; r < n; r++) {
      for (let k = 0; k < active.length; k++) {
        const e = active[(r + k) % active.length]!; // rotate who goes first
        samples[e.name]!.push(row.sample(e, r));
      }
    }
    for (const e of active) row.teardown?.(e);
    results.push({ row, samples, load: load() });
    if (!values.json) console.error(`  done: ${row.what} (load ${load()})`);
  }
  idle('after the rows');
  const registrySamples: Record<string, number[]> = { berth: [rssKb(engines[0]!.registryPid?.() ?? 0) / 1024] };
  if (distribution) registrySamples.docker = [rssKb(distribution.pid) / 1024];
  results.push({ row: { id: 'registry-rss', what: 'registry idle RSS MB (Docker: distribution)', unit: 'MB', target: { abs: 40 }, sample: () => 0 }, samples: registrySamples, load: load() });

  if (values.json) console.log(JSON.stringify({ bench: 'compare', load: load(), missing, results: results.map((r) => ({ id: r.row.id, samples: r.samples, load: r.load })) }));
  else print(results);
} finally {
  distribution?.stop();
  for (const e of engines.reverse()) await e.stop().catch((err: unknown) => console.error(`stopping ${e.name}: ${String(err)}`));
  rmSync(tmp, { recursive: true, force: true });
  rmSync(buildDir, { recursive: true, force: true });
}

function print(results: Array<{ row: Row; samples: Record<string, number[]>; load: string }>): void {
  const cell = (row: Row, name: string, samples?: number[]) => {
    if (missing[name]) return 'not installed'.padStart(22);
    const s = samples && stats(samples);
    if (!s) return 'n/a'.padStart(22);
    const f = (v: number) => (row.unit === 'MB' ? v.toFixed(1) : v.toFixed(0));
    return (s.n === 1 ? f(s.median) : `${f(s.median)} (${f(s.p10)}–${f(s.p90)})`).padStart(22);
  };
  const ratio = (a?: number[], b?: number[]) => {
    const r = a && b ? pairedRatio(a, b) : undefined;
    return (r === undefined ? '–' : `${r.toFixed(2)}×`).padStart(8);
  };
  console.log(`${'what (median, p10–p90)'.padEnd(44)}${'berth'.padStart(22)}${'docker'.padStart(22)}${'podman'.padStart(22)}${'B/D'.padStart(8)}${'B/P'.padStart(8)}  target         met   load`);
  for (const { row, samples, load: l } of results) {
    const t = row.target;
    const target = [t.abs !== undefined ? `≤ ${t.abs} ${row.unit}` : '', t.docker !== undefined ? `≤ ${t.docker}×D` : '', t.podman !== undefined ? `≤ ${t.podman}×P` : ''].filter(Boolean).join(', ');
    // A relative target is judged by the paired ratio the row prints (per-round ratios: a busy moment
    // falls on both engines of a round), an absolute one by Berth's median.
    const b = stats(samples.berth ?? [])?.median;
    const byDocker = samples.berth && samples.docker ? pairedRatio(samples.berth, samples.docker) : undefined;
    const byPodman = samples.berth && samples.podman ? pairedRatio(samples.berth, samples.podman) : undefined;
    const checks: boolean[] = [];
    if (b !== undefined && t.abs !== undefined) checks.push(b <= t.abs);
    if (byDocker !== undefined && t.docker !== undefined) checks.push(byDocker <= t.docker);
    if (byPodman !== undefined && t.podman !== undefined) checks.push(byPodman <= t.podman);
    const met = checks.length === 0 ? '?' : checks.every(Boolean) ? 'yes' : 'no';
    console.log(
      `${`${row.what} (${row.unit})`.padEnd(44)}${cell(row, 'berth', samples.berth)}${cell(row, 'docker', samples.docker)}${cell(row, 'podman', samples.podman)}` +
        `${ratio(samples.berth, samples.docker)}${ratio(samples.berth, samples.podman)}  ${target.padEnd(15)}${met.padEnd(6)}${l}`,
    );
  }
  for (const [name, why] of Object.entries(missing)) console.log(`${name}: ${why}`);
}
