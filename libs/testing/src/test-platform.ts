import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { platformDown, platformUp, readRegistryAuth, REPO_ROOT, secretsOf, type PlatformOptions, type PlatformSettings } from '@berth/platform';
import { type CliResult, runCli } from './run-cli.js';
import { tempDir, type TempDir } from './temp-dir.js';

export interface TestPlatform extends AsyncDisposable {
  settings: PlatformSettings;
  dataRoot: string;
  /** Runs `./berth ARGS` against this platform. */
  berth(args: string[], options?: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number }): Promise<CliResult>;
  /** Environment for spawning the CLI yourself (BERTH_HOST set). */
  env: NodeJS.ProcessEnv;
  /** The platform registry's credentials (pushes and deletes need them, pulls do not). */
  registryAuth: { username: string; password: string };
  stop(): Promise<void>;
}

export const BERTH_CLI = join(REPO_ROOT, 'berth');

/**
 * Starts the real platform (nats-server, runtime agent, gateway as separate processes) on random
 * loopback ports with a temporary data root; the gateway listens on `unix:<dataRoot>/run/api.sock`
 * (root only, as in production: a TCP gateway needs TLS client certificates). `options` are
 * `berth platform up`'s (a `group`, anonymous registry pushes). `stop()` removes every container it
 * ran, stops the processes, and leaves no mount, runc state or directory behind, even after a
 * failed test.
 */
export async function startTestPlatform(options: TestPlatformOptions = {}): Promise<TestPlatform> {
  return startTestPlatformIn(tempDir('berth-e2e-'), options);
}

export type TestPlatformOptions = Pick<
  PlatformOptions,
  'group' | 'registryAnonymousPush' | 'apiAddress' | 'tls' | 'registryPort' | 'logLevel' | 'nodeName' | 'labels' | 'address' | 'netns' | 'natsCluster'
>;

/** startTestPlatform with a data root made by the caller (test-cluster.ts joins hosts to it while it starts); removed by `stop()`. */
export async function startTestPlatformIn(dir: TempDir, options: TestPlatformOptions = {}): Promise<TestPlatform> {
  let settings: PlatformSettings;
  try {
    // registryPort 0: any free port, not 5000, which platforms started side by side would race for.
    settings = await platformUp({ registryPort: 0, ...options, dataRoot: dir.path, timeoutMs: 60_000 });
  } catch (err) {
    await cleanup(dir, undefined);
    throw err;
  }
  const env = { ...process.env, BERTH_HOST: settings.apiAddress };
  const berth: TestPlatform['berth'] = async (args, options = {}) => {
    return runCli(BERTH_CLI, args, { env: { ...env, ...options.env }, input: options.input, timeoutMs: options.timeoutMs });
  };
  const stop = async () => {
    try {
      const ids = (await berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await berth(['rm', '-f', ...ids]);
    } catch {
      // the platform may be down already: the sweep below still cleans up
    }
    await cleanup(dir, settings);
  };
  const registryAuth = readRegistryAuth(secretsOf(settings.dataRoot).registryAuth);
  return { settings, dataRoot: dir.path, berth, env, registryAuth, stop, [Symbol.asyncDispose]: stop };
}

async function cleanup(dir: TempDir, settings: PlatformSettings | undefined): Promise<void> {
  if (settings) await platformDown({ dataRoot: settings.dataRoot }).catch(() => {}); // already down, or never up: the sweep below cleans up either way
  sweepContainers(dir.path);
  dir.remove();
}

/**
 * Kills and deletes every runc container whose state lives under `root`, kills their conmon
 * monitors, unmounts everything mounted below `root` (deepest first), and deletes the container
 * netns (`berth-<tag>-…` under /run/netns) of the hosts whose data roots lie there. The agent
 * deletes a container's netns when the container goes; a killed agent (a test cluster's dead host,
 * test-cluster.ts `kill()`) left them, one per container it ran, with no process in them.
 * @returns the netns it deleted
 */
export function sweepContainers(root: string): string[] {
  for (const runcRoot of findDirs(root, 'runc', 3)) {
    for (const id of readdirSync(runcRoot)) {
      spawnSync('runc', ['--root', runcRoot, 'delete', '--force', id], { stdio: 'ignore' });
    }
  }
  // conmon processes that monitor containers of this root: their command line names the root.
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.startsWith('conmon\0') || cmdline.includes('/conmon\0')) {
        if (cmdline.includes(root)) process.kill(Number(pid), 'SIGKILL');
      }
    } catch {
      // gone meanwhile
    }
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((m): m is string => m !== undefined && (m === root || m.startsWith(root + '/')))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  const prefixes = hostTags(root).map((tag) => `berth-${tag}-`);
  return listNetns().filter((ns) => prefixes.some((p) => ns.startsWith(p)) && spawnSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' }).status === 0);
}

export function listNetns(): string[] {
  return existsSync('/run/netns') ? readdirSync('/run/netns') : [];
}

/** The network tags of the hosts whose data roots lie in `root` (the root itself and cluster hosts' roots below it). */
export function hostTags(root: string, depth = 2): string[] {
  const tags: string[] = [];
  const idFile = join(root, 'host-id');
  if (existsSync(idFile)) tags.push(readFileSync(idFile, 'utf8').trim().replace(/-/g, '').slice(0, 8)); // apps/runtime-agent agent.ts
  if (depth > 0 && existsSync(root)) {
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      if (entry.isDirectory() && !entry.isSymbolicLink()) tags.push(...hostTags(join(root, entry.name), depth - 1));
    }
  }
  return tags.filter((t) => /^[0-9a-f]{8}$/.test(t));
}


function findDirs(root: string, name: string, depth: number): string[] {
  if (!existsSync(root) || depth < 0) return [];
  const found: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const path = join(root, entry.name);
    if (entry.name === name) found.push(path);
    else found.push(...findDirs(path, name, depth - 1));
  }
  return found;
}
