/**
 * bench/compose: wall time of `compose up -d` for 10 and 30 busybox services (until the command
 * returns: every container created and started) and of `compose down` after each, for Berth and,
 * side by side, for the reference (Debian's `docker-compose`, or the `docker compose` plugin,
 * against a Docker-compatible engine) when both are present; otherwise the reference columns say
 * "not installed" and the last line why. Berth runs on a platform the bench starts (random ports, temporary data
 * root). Targets on the 2-core dev VM: 10 services ≤ 1.5 s, 30 ≤ 4 s, down of 30 ≤ 2 s. For Berth it
 * also prints the runtime agent's CPU per command (its own, and that of the processes it waited
 * for: runc, ip, umount, iptables): less dependent on the load of a shared machine than wall time.
 *
 *   npx tsx bench/compose.ts [--rounds 2] [--json]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BERTH_CLI, startTestPlatform } from '@berth/testing';
import { timeCommand } from './time-command.js';

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

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

interface Row {
  engine: string;
  services: number;
  upMs: number[];
  downMs: number[];
  /** Berth: the agent's CPU ms (own + waited-for children) per up / down. */
  upCpuMs?: number[];
  downCpuMs?: number[];
}

/** CPU ms a process used, itself and its waited-for children (/proc/<pid>/stat utime, stime, cutime, cstime). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

function measure(engine: string, cli: (args: string[]) => number, agentPid?: number): Row[] {
  return sizes.map((n) => {
    const file = composeFile(n);
    const row: Row = { engine, services: n, upMs: [], downMs: [], ...(agentPid ? { upCpuMs: [], downCpuMs: [] } : {}) };
    const cpu = () => (agentPid ? cpuMs(agentPid) : 0);
    for (let r = 0; r < rounds; r++) {
      let before = cpu();
      row.upMs.push(cli(['-f', file, '-p', `bench${n}`, 'up', '-d']));
      row.upCpuMs?.push(cpu() - before);
      before = cpu();
      row.downMs.push(cli(['-f', file, '-p', `bench${n}`, 'down', '-t', '10']));
      row.downCpuMs?.push(cpu() - before);
    }
    return row;
  });
}

/**
 * The reference: Docker Compose (Debian's `docker-compose`, else the `docker compose` plugin) with a
 * Docker-compatible engine answering `docker info` and holding busybox (pulled when missing).
 * @returns how to run it, or why it cannot run.
 */
function reference(): { command: string[] } | { missing: string } {
  const standalone = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
  const plugin = !standalone && spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;
  if (!standalone && !plugin) return { missing: 'not installed (docker-compose: apt-get install docker-compose)' };
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) return { missing: 'not installed (no Docker-compatible engine answers `docker info`)' };
  const hasImage = spawnSync('docker', ['image', 'inspect', 'busybox'], { stdio: 'ignore' }).status === 0;
  if (!hasImage && spawnSync('docker', ['pull', '-q', 'busybox'], { stdio: 'ignore' }).status !== 0) return { missing: 'not measured (the engine has no busybox image and cannot pull it)' };
  return { command: standalone ? ['docker-compose'] : ['docker', 'compose'] };
}

const rows: Row[] = [];
const loadBefore = loadavg();
const platform = await startTestPlatform();
let cliStartupMs = 0;
try {
  if ((await platform.berth(['image', 'bootstrap', 'busybox'])).code !== 0) throw new Error('cannot make the busybox image');
  const env = platform.env;
  const berth = (args: string[]) => timeCommand(BERTH_CLI, ['compose', ...args], env);
  // Warm-up: one small project up and down (CLI bundle, gateway and agent code paths).
  const warm = composeFile(2);
  berth(['-f', warm, '-p', 'warm', 'up', '-d']);
  berth(['-f', warm, '-p', 'warm', 'down', '-t', '10']);
  cliStartupMs = Math.min(...Array.from({ length: 5 }, () => timeCommand(BERTH_CLI, ['--version'], env)));
  const agentPid = Number(readFileSync(join(platform.settings.runRoot, 'platform', 'runtime-agent.pid'), 'utf8').trim());
  rows.push(...measure('berth', berth, agentPid));
} finally {
  await platform.stop();
}
const ref = reference();
const missing = 'missing' in ref ? ref.missing : undefined;
if ('command' in ref) {
  const [command, ...prefix] = ref.command as [string, ...string[]];
  rows.push(...measure(ref.command.join(' '), (args) => timeCommand(command, [...prefix, ...args], process.env)));
}
rmSync(dir, { recursive: true, force: true });

const best = (xs: number[]) => Math.min(...xs);
if (values.json) {
  console.log(JSON.stringify({ bench: 'compose', loadBefore, loadAfter: loadavg(), cliStartupMs, rows, reference: missing ?? 'measured' }));
} else {
  const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(2)} s`).padStart(9);
  const refName = rows.find((r) => r.engine !== 'berth')?.engine ?? 'docker compose';
  console.log(`compose up -d / down of N busybox services (best of ${rounds}; load average before: ${loadBefore}, after: ${loadavg()})`);
  console.log(`${'services'.padEnd(9)}${'berth up -d'.padStart(12)}${'down'.padStart(10)}   ${`${refName} up -d`.padStart(22)}${'down'.padStart(10)}   target (berth) up / down`);
  for (const n of sizes) {
    const berthRow = rows.find((r) => r.engine === 'berth' && r.services === n)!;
    const refRow = rows.find((r) => r.engine !== 'berth' && r.services === n);
    const refCells = refRow ? `${s(best(refRow.upMs)).padStart(22)}${s(best(refRow.downMs)).padStart(10)}` : `${(missing ?? '').split(' (')[0]!.padStart(22)}${'-'.padStart(10)}`;
    const target = n === 10 ? '1.5 s / -' : '4 s / 2 s';
    console.log(`${String(n).padEnd(9)}${s(best(berthRow.upMs)).padStart(12)}${s(best(berthRow.downMs)).padStart(10)}   ${refCells}   ${target}`);
  }
  for (const r of rows.filter((x) => x.upCpuMs)) {
    console.log(`berth agent CPU, ${r.services} services (own + runc/ip/umount it waited for, best of ${rounds}): up -d ${best(r.upCpuMs!)} ms, down ${best(r.downCpuMs!)} ms`);
  }
  console.log(`berth CLI start-up alone: ${(cliStartupMs / 1000).toFixed(2)} s`);
  if (missing) console.log(`reference: ${missing}`);
}
