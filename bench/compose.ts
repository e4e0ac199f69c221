/**
 * bench/compose: wall time of `compose up -d` for 10 and 30 busybox services (until the command
 * returns: every container created and started) and of `compose down` after each, for Berth and,
 * side by side, for the reference (Debian's `docker-compose` against a Docker-compatible engine)
 * when both are present. Berth runs on a platform the bench starts (random ports, temporary data
 * root). Targets on the 2-core dev VM: 10 services ≤ 1.5 s, 30 ≤ 4 s, down of 30 ≤ 2 s.
 *
 *   npx tsx bench/compose.ts [--rounds 2] [--json]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BERTH_CLI, startTestPlatform } from '@berth/testing';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2' }, json: { type: 'boolean', default: false } } });
const rounds = Number(values.rounds);
const sizes = [10, 30];
const dir = mkdtempSync(join(tmpdir(), 'berth-bench-compose-'));

/** N independent services; each stops at once on SIGTERM (the shell waits on `sleep` in the background). */
function composeFile(n: number): string {
  const file = join(dir, `compose-${n}.yaml`);
  const services = Array.from(
    { length: n },
    (_, i) => `  s${String(i + 1).padStart(2, '0')}:\n    image: busybox\n    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait; done"]\n`,
  ).join('');
  writeFileSync(file, `services:\n${services}`);
  return file;
}

function timed(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

interface Row {
  engine: string;
  services: number;
  upMs: number[];
  downMs: number[];
}

function measure(engine: string, cli: (args: string[]) => number): Row[] {
  return sizes.map((n) => {
    const file = composeFile(n);
    const row: Row = { engine, services: n, upMs: [], downMs: [] };
    for (let r = 0; r < rounds; r++) {
      row.upMs.push(cli(['-f', file, '-p', `bench${n}`, 'up', '-d']));
      row.downMs.push(cli(['-f', file, '-p', `bench${n}`, 'down', '-t', '10']));
    }
    return row;
  });
}

/** The reference: Debian's docker-compose with a Docker-compatible engine answering `docker info`. */
function referenceAvailable(): string | undefined {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status !== 0) return 'docker-compose is not installed (apt-get install docker-compose)';
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) return 'no Docker-compatible engine answers `docker info`';
  return undefined;
}

const rows: Row[] = [];
const loadBefore = loadavg();
const platform = await startTestPlatform();
let cliStartupMs = 0;
try {
  if ((await platform.berth(['image', 'bootstrap', 'busybox'])).code !== 0) throw new Error('cannot make the busybox image');
  const env = platform.env;
  const berth = (args: string[]) => timed(BERTH_CLI, ['compose', ...args], env);
  // Warm-up: one small project up and down (CLI bundle, gateway and agent code paths).
  const warm = composeFile(2);
  berth(['-f', warm, '-p', 'warm', 'up', '-d']);
  berth(['-f', warm, '-p', 'warm', 'down', '-t', '10']);
  cliStartupMs = Math.min(...Array.from({ length: 5 }, () => timed(BERTH_CLI, ['--version'], env)));
  rows.push(...measure('berth', berth));
} finally {
  await platform.stop();
}
const missing = referenceAvailable();
if (!missing) rows.push(...measure('docker-compose', (args) => timed('docker-compose', args, process.env)));
rmSync(dir, { recursive: true, force: true });

const best = (xs: number[]) => Math.min(...xs);
if (values.json) {
  console.log(JSON.stringify({ bench: 'compose', loadBefore, loadAfter: loadavg(), cliStartupMs, rows, reference: missing ?? 'measured' }));
} else {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`.padStart(8);
  console.log(`compose up -d / down of N busybox services (best of ${rounds}; load average before: ${loadBefore}, after: ${loadavg()})`);
  console.log(`${'engine'.padEnd(16)}${'services'.padStart(9)}${'up -d'.padStart(10)}${'down'.padStart(10)}   target up / down`);
  for (const r of rows) {
    const target = r.services === 10 ? '1.5 s / -' : '4 s / 2 s';
    console.log(`${r.engine.padEnd(16)}${String(r.services).padStart(9)}  ${s(best(r.upMs))}  ${s(best(r.downMs))}   ${target}`);
  }
  console.log(`berth CLI start-up alone: ${(cliStartupMs / 1000).toFixed(2)} s`);
  if (missing) console.log(`reference not measured: ${missing}`);
}
