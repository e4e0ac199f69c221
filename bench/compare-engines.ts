/**
 * The engines bench/compare.ts runs side by side, each started by the bench on its own temporary
 * roots and sockets, stopped and cleaned up afterwards:
 *
 * - **berth**: startTestPlatform (every service as `berth platform up` runs it: bundles), busybox
 *   bootstrapped;
 * - **docker**: Debian's `docker.io` (dockerd 20.10 + its own containerd), `--data-root`,
 *   `--exec-root`, its socket in the temp dir, `--iptables=false --ip-masq=false` and its own
 *   bridge `bbdocker<slot>` (10.214.<slot>.1/24, made and removed by the bench): no iptables rule, no
 *   docker0, nothing in /var/lib/docker;
 * - **podman**: Debian's `podman` 4.3 with its own `--root`/`--runroot`, a containers.conf of its
 *   own (CONTAINERS_CONF: cgroupfs, file events, CNI) and a CNI network on `bbpodman<slot>`
 *   (10.215.<slot>.0/24) of only the bridge and host-local plugins: no firewall rule, no NAT.
 *
 * Docker and Podman are benchmark references, not dependencies: when one is not installed it is
 * reported as "not installed" and its columns are skipped. Their busybox is Berth's (`berth save |
 * docker load`), so that every engine runs the same image with the same runc.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BERTH_CLI, startTestPlatform, type TestPlatform } from '@berth/testing';

export interface Engine {
  name: 'berth' | 'docker' | 'podman';
  /** The argv of one CLI command of this engine. */
  argv(args: string[]): string[];
  env: NodeJS.ProcessEnv;
  /** The engine's long-running processes (none for podman). */
  daemonPids(): number[];
  /** Pids of the per-container helper processes (conmon, containerd-shim) of running containers. */
  helperPids(): number[];
  /** The pid of this engine's registry, when the bench runs one for it. */
  registryPid?: () => number | undefined;
  stop(): Promise<void>;
}

export interface Stats {
  n: number;
  median: number;
  p10: number;
  p90: number;
}

export function stats(samples: number[]): Stats | undefined {
  const s = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const q = (p: number) => s[Math.min(s.length - 1, Math.round(p * (s.length - 1)))]!;
  return { n: s.length, median: q(0.5), p10: q(0.1), p90: q(0.9) };
}

/** The median of the per-round ratios a ÷ b (samples of one round at the same index). */
export function pairedRatio(a: number[], b: number[]): number | undefined {
  const ratios = a.map((x, i) => x / b[i]!).filter((r) => Number.isFinite(r));
  return stats(ratios)?.median;
}

/** Runs one CLI command of `engine`: its wall time in ms; throws with stderr when it fails. */
export function timed(engine: Engine, args: string[], options: { input?: Buffer; timeoutMs?: number } = {}): { ms: number; stdout: string } {
  const [cmd, ...rest] = engine.argv(args);
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd!, rest, { env: engine.env, input: options.input, timeout: options.timeoutMs ?? 300_000, maxBuffer: 256 << 20 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${engine.name} ${args.join(' ')} failed (${r.status ?? r.signal}): ${String(r.stderr).trim().slice(0, 500)}`);
  return { ms, stdout: String(r.stdout) };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<Buffer> {
  return spawnSync(cmd, args, { env, timeout: 120_000, maxBuffer: 256 << 20 });
}

export function installed(program: string): boolean {
  return run('sh', ['-c', `command -v ${program}`]).status === 0;
}

/** RSS in kB of a process (0 when it is gone). */
export function rssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // the process exited between listing and reading
  }
}

/**
 * Private memory in kB of a process (USS: Private_Clean + Private_Dirty of smaps_rollup): what
 * stopping it frees. RSS also counts the pages of the program shared with every other process
 * running it (34 MB of the node binary for each Node service), which USS leaves out.
 */
export function ussKb(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return field('Private_Clean') + field('Private_Dirty');
  } catch {
    return 0; // the process exited between listing and reading
  }
}

/** Pids whose command line matches `test`. */
function pidsWhere(test: (argv: string[]) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (test(argv)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Waits until `check` holds, polling every 100 ms, or throws after `ms`. */
async function until(what: string, ms: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Unmounts everything mounted below `dir` (deepest first), then removes it. */
function removeTree(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) run('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
}

export async function startBerth(): Promise<{ engine: Engine; platform: TestPlatform }> {
  const platform = await startTestPlatform();
  const env = platform.env;
  const runRoot = platform.settings.runRoot;
  const pidOf = (svc: string) => {
    const file = join(runRoot, 'platform', `${svc}.pid`);
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : undefined;
  };
  const engine: Engine = {
    name: 'berth',
    argv: (args) => [BERTH_CLI, ...args],
    env,
    daemonPids: () =>
      readdirSync(join(runRoot, 'platform'))
        .filter((f) => f.endsWith('.pid'))
        .map((f) => Number(readFileSync(join(runRoot, 'platform', f), 'utf8').trim())),
    helperPids: () => pidsWhere((a) => a[0]?.endsWith('conmon') === true && a.some((x) => x.startsWith(platform.dataRoot))),
    registryPid: () => pidOf('registry'),
    stop: () => platform.stop(),
  };
  const boot = await platform.berth(['image', 'bootstrap', 'busybox']);
  if (boot.code !== 0) throw new Error(`berth image bootstrap busybox: ${boot.stderr}`);
  return { engine, platform };
}

/**
 * This run's bridges are `bbdocker<slot>` (10.214.<slot>.1/24) and `bbpodman<slot>`
 * (10.215.<slot>.0/24): engineers sharing the machine run the bench at the same time, and one
 * run deleting another's bridge as a leftover broke the other's Docker rows.
 */
const slot = process.pid % 250;

export async function startDocker(dir: string, image: string): Promise<Engine> {
  mkdirSync(dir, { recursive: true });
  const sock = join(dir, 'docker.sock');
  const bridge = `bbdocker${slot}`;
  run('ip', ['link', 'del', bridge]); // a leftover of an interrupted run
  for (const args of [['link', 'add', bridge, 'type', 'bridge'], ['addr', 'add', `10.214.${slot}.1/24`, 'dev', bridge], ['link', 'set', bridge, 'up']]) {
    const r = run('ip', args);
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  }
  const log = openSync(join(dir, 'dockerd.log'), 'a');
  const daemon = spawn(
    'dockerd',
    [
      `--data-root=${join(dir, 'data')}`,
      `--exec-root=${join(dir, 'exec')}`,
      `--pidfile=${join(dir, 'dockerd.pid')}`,
      `--host=unix://${sock}`,
      '--iptables=false',
      '--ip-masq=false',
      '--ip-forward=false',
      `--bridge=${bridge}`,
      '--userland-proxy=false',
      '--storage-driver=overlay2',
      `--config-file=${join(dir, 'daemon.json')}`,
    ],
    { stdio: ['ignore', log, log], detached: true },
  );
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  const env = { ...process.env, DOCKER_HOST: `unix://${sock}`, DOCKER_CONFIG: join(dir, 'client'), DOCKER_BUILDKIT: '1' };
  const client = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
  await until('dockerd', 60_000, () => {
    if (daemon.exitCode !== null) throw new Error(`dockerd exited: see ${join(dir, 'dockerd.log')}`);
    return run(client, ['version'], env).status === 0;
  });
  const containerdPids = () => pidsWhere((a) => a[0]?.endsWith('containerd') === true && a.join(' ').includes(join(dir, 'exec')));
  const engine: Engine = {
    name: 'docker',
    argv: (args) => [client, ...args],
    env,
    daemonPids: () => [daemon.pid!, ...containerdPids()],
    // Each container's containerd-shim-runc-v2 names the address of our containerd (under exec-root).
    helperPids: () => pidsWhere((a) => (a[0] ?? '').includes('containerd-shim') && a.join(' ').includes(join(dir, 'exec'))),
    stop: async () => {
      const ids = run(client, ['ps', '-aq'], env).stdout.toString().split('\n').filter(Boolean);
      if (ids.length > 0) run(client, ['rm', '-f', ...ids], env);
      daemon.kill('SIGTERM');
      await until('dockerd to exit', 30_000, () => daemon.exitCode !== null || daemon.signalCode !== null).catch(() => daemon.kill('SIGKILL'));
      for (const pid of containerdPids()) process.kill(pid, 'SIGKILL');
      run('ip', ['link', 'del', bridge]);
      removeTree(dir);
    },
  };
  const load = run(client, ['load', '-i', image], env);
  if (load.status !== 0) throw new Error(`docker load: ${load.stderr}`);
  return engine;
}

/** The hard limit `ulimit -H<flag>` of this process. */
function hardLimit(flag: 'n' | 'u'): string {
  return run('bash', ['-c', `ulimit -H${flag}`]).stdout.toString().trim();
}

export async function startPodman(dir: string, image: string): Promise<Engine> {
  mkdirSync(join(dir, 'cni'), { recursive: true });
  const conf = join(dir, 'containers.conf');
  writeFileSync(
    conf,
    [
      '[containers]',
      'netns = "bridge"',
      // Podman's default nofile and nproc (1048576, its own maximum) are above this machine's hard
      // limits (nofile 20000 here), which runc may not raise: EPERM. Limits under them instead.
      `default_ulimits = ["nofile=1024:${hardLimit('n')}", "nproc=${Math.min(32768, Number(hardLimit('u')))}:${Math.min(32768, Number(hardLimit('u')))}"]`,
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(dir, 'events.log')}"`,
      `tmp_dir = "${join(dir, 'tmp')}"`,
      'runtime = "runc"',
      '[network]',
      'network_backend = "cni"',
      `network_config_dir = "${join(dir, 'cni')}"`,
      `default_network = "bbpodman${slot}"`,
      'cni_plugin_dirs = ["/usr/lib/cni"]',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'cni', 'bbpodman.conflist'),
    JSON.stringify({
      cniVersion: '0.4.0',
      name: `bbpodman${slot}`,
      plugins: [
        {
          type: 'bridge',
          bridge: `bbpodman${slot}`,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: 'host-local', routes: [{ dst: '0.0.0.0/0' }], ranges: [[{ subnet: `10.215.${slot}.0/24`, gateway: `10.215.${slot}.1` }]] },
        },
      ],
    }),
  );
  const base = ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--storage-driver', 'overlay'];
  const env = { ...process.env, CONTAINERS_CONF: conf, TMPDIR: join(dir, 'tmp') };
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const engine: Engine = {
    name: 'podman',
    argv: (args) => ['podman', ...base, ...args],
    env,
    daemonPids: () => [],
    helperPids: () => pidsWhere((a) => a[0]?.endsWith('conmon') === true && a.some((x) => x.startsWith(join(dir, 'runroot')) || x.startsWith(join(dir, 'root')))),
    stop: async () => {
      run('podman', [...base, 'rm', '-af', '-t', '0'], env);
      run('ip', ['link', 'del', `bbpodman${slot}`]);
      removeTree(dir);
    },
  };
  const load = run('podman', [...base, 'load', '-i', image], env);
  if (load.status !== 0) throw new Error(`podman load: ${load.stderr}`);
  return engine;
}

/**
 * Debian's docker-registry (distribution 2.8, the registry:2 image's program) on a temp root and a
 * free port, for the idle RSS row: its pid and a stop function; undefined when not installed.
 */
export async function startDistribution(dir: string, port: number): Promise<{ pid: number; stop: () => void } | undefined> {
  if (!installed('docker-registry')) return undefined;
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'config.yml');
  writeFileSync(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore', detached: true });
  await until('docker-registry', 20_000, () => run('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0 || child.exitCode !== null);
  return {
    pid: child.pid!,
    stop: () => {
      child.kill('SIGTERM');
      removeTree(dir);
    },
  };
}
