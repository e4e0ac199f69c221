/**
 * A full data root costs neither data nor availability (issue 8 §5): on a 64 MB ext4 image
 * mounted as the data root and filled to the last block, the agent stays up, answers ps and
 * inspect, refuses run with NO_SPACE naming the data root, records the exit code of a container
 * that exits meanwhile, starts again while the disk is full, and takes writes again once space
 * is freed. The mount, the platform and every container go even when a test fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformDown, platformUp, type PlatformSettings } from '@berth/platform';
import { BERTH_CLI, type CliResult, runCli, sweepContainers, until, signalProcess } from '@berth/testing';

let scratch: string;
let dataRoot: string;
let settings: PlatformSettings | undefined;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const berth = (args: string[]): Promise<CliResult> => runCli(BERTH_CLI, args, { env: { ...process.env, BERTH_HOST: settings!.apiAddress } });

const pidOf = (service: string) => Number(readFileSync(join(settings!.runRoot, 'platform', `${service}.pid`), 'utf8'));
const agentPid = () => pidOf('runtime-agent');
/**
 * Gone from /proc, not merely a zombie: platformUp takes a zombie for a running service (kill -0
 * succeeds) and would not start a new one. This process spawned the agent, so it reaps it soon.
 */
const alive = (pid: number) => existsSync(`/proc/${pid}`);
const free = () => statfsSync(dataRoot).bavail * statfsSync(dataRoot).bsize;
const inspect = async (name: string, format: string) => (await berth(['inspect', '--format', format, name])).stdout.trim();

/** Takes every block, reserved ones included (as root): nothing on this file system can grow. */
function fill(): void {
  sh('fallocate', ['-l', String(free()), join(dataRoot, 'fill-1')]);
  spawnSync('dd', ['if=/dev/zero', `of=${join(dataRoot, 'fill-2')}`, 'bs=1k'], { stdio: 'ignore' }); // ends with ENOSPC
  expect(free()).toBe(0);
}

function unfill(): void {
  rmSync(join(dataRoot, 'fill-1'), { force: true });
  rmSync(join(dataRoot, 'fill-2'), { force: true });
}

async function stopAgent(signal: NodeJS.Signals, service = 'runtime-agent'): Promise<void> {
  const pid = pidOf(service);
  signalProcess(pid, signal);
  const deadline = Date.now() + 20_000;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`the ${service} (pid ${pid}) did not stop: ${diagnose(pid, service)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What a process that does not stop is doing: each thread's state and kernel wait, and its log's tail. */
function diagnose(pid: number, service: string): string {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (err) {
      return (err as Error).message;
    }
  };
  const threads = existsSync(`/proc/${pid}/task`) ? readdirSync(`/proc/${pid}/task`) : [];
  const states = threads.map((t) => `${t} ${read(`/proc/${pid}/task/${t}/stat`).split(') ')[1]?.slice(0, 1)} ${read(`/proc/${pid}/task/${t}/wchan`)} ${read(`/proc/${pid}/task/${t}/comm`)}`);
  const log = read(join(dataRoot, 'logs', `${service}.log`)).split('\n').slice(-20).join('\n');
  return `threads:\n${states.join('\n')}\nstack:\n${read(`/proc/${pid}/stack`)}\nlog:\n${log}`;
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'berth-full-'));
  dataRoot = join(scratch, 'data');
  mkdirSync(dataRoot);
  const image = join(scratch, 'disk.img');
  sh('truncate', ['-s', '64M', image]);
  sh('mkfs.ext4', ['-q', '-F', image]);
  sh('mount', ['-o', 'loop', image, dataRoot]);
  // The gateway on its default unix socket (<data-root>/run/api.sock): TCP needs TLS. A free
  // registry port, as startTestPlatform picks one, rather than racing other platforms for 5000.
  settings = await platformUp({ dataRoot, registryPort: 0, timeoutMs: 60_000 });
  const boot = await berth(['image', 'bootstrap', 'busybox']);
  expect(boot.code, boot.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  if (dataRoot && existsSync(join(dataRoot, 'platform.json'))) {
    unfill();
    // Without containers, the agent takes its bridges and rules down when it stops.
    if (settings) {
      const ids = (await berth(['ps', '-aq', '--no-trunc']).catch(() => ({ stdout: '' }))).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await berth(['rm', '-f', ...ids]).catch(() => undefined); // the sweep below is the safety net
    }
    await platformDown({ dataRoot }).catch(() => undefined); // may have failed to start: the sweep still cleans up
  }
  if (dataRoot) sweepContainers(dataRoot); // containers, conmons, every mount below and the data root itself
  if (scratch) {
    const image = join(scratch, 'disk.img');
    for (const dev of sh('losetup', ['-j', image]).split('\n').map((l) => l.split(':')[0]).filter(Boolean)) {
      spawnSync('losetup', ['-d', dev!]);
    }
    rmSync(scratch, { recursive: true, force: true });
  }
});

describe('a full data root', () => {
  it('keeps the agent up: reads answer, run is refused clearly, exits are recorded, space returning means writes work', async () => {
    // USR1 ends it with 3 whenever the test says (a signal needs no disk).
    const exiter = await berth(['run', '-d', '--name', 'exiter', 'busybox', 'sh', '-c', 'trap "exit 3" USR1; while true; do sleep 0.1; done']);
    expect(exiter.code, exiter.stderr).toBe(0);
    expect((await berth(['run', '-d', '--name', 'victim', 'busybox', 'sleep', '300'])).code).toBe(0);
    expect((await berth(['create', '--name', 'idle', 'busybox', 'true'])).code).toBe(0);
    const pid = agentPid();

    fill();
    const run = await berth(['run', '-d', 'busybox', 'true']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`No space left on device: the data root "${dataRoot}" is full`);
    const ps = await berth(['ps', '-a', '--format', '{{.Names}} {{.State}}']);
    expect(ps.code, ps.stderr).toBe(0);
    expect(ps.stdout.split('\n').filter(Boolean).sort()).toEqual(['exiter running', 'idle created', 'victim running']);
    expect(await inspect('victim', '{{.State.Status}}')).toBe('running');

    expect((await berth(['kill', '-s', 'USR1', 'exiter'])).code).toBe(0);
    expect((await berth(['wait', 'exiter'])).stdout.trim()).toBe('3');
    expect(await inspect('exiter', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 3');

    const victimPid = Number(await inspect('victim', '{{.State.Pid}}'));
    const rm = await berth(['rm', '-f', 'victim']);
    // Removing frees space, but a disk full to the last block may not even have room for that:
    // then it is refused with the same clear error and the container is left Dead, not running.
    if (rm.code !== 0) {
      expect(rm.stderr).toContain(`No space left on device: the data root "${dataRoot}" is full`);
      expect(await inspect('victim', '{{.State.Status}}')).toBe('dead');
    }
    expect(alive(victimPid)).toBe(false);
    expect(alive(pid)).toBe(true);
    expect(agentPid()).toBe(pid);

    unfill();
    const back = await berth(['run', '--rm', 'busybox', 'echo', 'back']);
    expect(back).toMatchObject({ code: 0, stdout: 'back\n' });
    expect((await berth(['rm', '-f', 'victim'])).code).toBe(0);
    expect((await berth(['rename', 'idle', 'idle2'])).code).toBe(0);
    expect((await berth(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean).sort()).toEqual(['exiter', 'idle2']);
    expect(alive(pid)).toBe(true);

    // The exit code reached the database, not only the agent's memory. nats-server keeps its
    // JetStream store on the same disk: a write that failed there for lack of space can leave it
    // not answering JetStream requests until it restarts (nats-server's own behaviour, which the
    // agent, needing NATS to start, cannot work around), so it is restarted with the agent.
    // nats-server's graceful stop may itself wait on that full disk (flushing JetStream), so it is
    // killed, as a crash would end it: its store is made to survive that.
    await stopAgent('SIGTERM');
    await stopAgent('SIGKILL', 'nats');
    await platformUp({ dataRoot });
    expect(await inspect('exiter', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 3');
  }, 180_000);

  it('starts again on a full disk, with the exit code of a container that exited while it was down', async () => {
    const run = await berth(['run', '-d', '--name', 'late', 'busybox', 'sh', '-c', 'trap "exit 5" USR1; while true; do sleep 0.1; done']);
    expect(run.code, run.stderr).toBe(0);
    const latePid = Number(await inspect('late', '{{.State.Pid}}'));
    await stopAgent('SIGKILL');
    // The gateway records the host down (its agent failed its probes) while the disk still has
    // room; the agent back, that host's `ready` cannot be written on the full disk (nats-server's
    // file store), and calls must reach it all the same.
    const down = await until(() => berth(['node', 'ls', '--format', '{{.Status}}']), (r) => r.stdout.trim() === 'down', { timeoutMs: 20_000 });
    expect(down.stdout.trim()).toBe('down');
    fill();
    signalProcess(latePid, 'SIGUSR1');
    await platformUp({ dataRoot });
    expect((await berth(['wait', 'late'])).stdout.trim()).toBe('5');
    const ps = await berth(['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
    expect(ps.stdout).toMatch(/^late Exited \(5\)/m);
    unfill();
    expect((await berth(['rm', 'late'])).code).toBe(0);
  }, 120_000);
});
