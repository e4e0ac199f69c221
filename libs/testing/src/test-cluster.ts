import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { platformDown, platformUp, type PlatformSettings } from '@berth/platform';
import { tempDir, type TempDir } from './temp-dir.js';
import { startTestPlatform, sweepContainers, type TestPlatform } from './test-platform.js';

/** One host of a test cluster: a data root with its own host id, run root, agent and builder. */
export interface TestHost {
  /** The node name it announces (`node-1`, `node-2`, …). */
  name: string;
  hostId: string;
  dataRoot: string;
  settings: PlatformSettings;
  /**
   * The host "dies": its agent and builder are SIGKILLed and its containers killed (as a machine
   * losing power), leaving its data root as it was. Its announcement lapses after the hosts TTL.
   */
  kill(): void;
  /** Starts its agent and builder again (the host comes back). */
  restart(): Promise<void>;
}

export interface TestCluster extends AsyncDisposable {
  /** The first host's platform: nats-server, registry, gateway, compose watcher, and host 1's agent. */
  platform: TestPlatform;
  /** Every host, the first one included (hosts[0] is the platform's own). */
  hosts: TestHost[];
  berth: TestPlatform['berth'];
  stop(): Promise<void>;
}

/**
 * Starts a cluster of `n` hosts on this machine: the first is a whole platform (startTestPlatform),
 * each other one a data root that joins it (`platformUp({ join })`: its own host id, run root, agent
 * and builder, on the first host's NATS, registry and gateway). Host i is named `node-i` and labelled
 * `zone=z<i>`. `stop()` removes every container of the cluster and every host's processes, mounts
 * and directories, even after a failed test.
 *
 * The hosts share this machine's network namespace (each agent has its own bridges and rules, as two
 * test platforms side by side do); the one-netns-per-host layout is not built yet (TODO(#14)).
 */
export async function startTestCluster(n: number): Promise<TestCluster> {
  const platform = await startTestPlatform({ nodeName: 'node-1', labels: { zone: 'z1' } });
  const dirs: TempDir[] = [];
  const hosts: TestHost[] = [hostOf(platform.settings, 'node-1')];
  try {
    for (let i = 2; i <= n; i++) {
      const dir = tempDir('berth-e2e-host-');
      dirs.push(dir);
      const settings = await platformUp({ dataRoot: dir.path, join: platform.dataRoot, nodeName: `node-${i}`, labels: { zone: `z${i}` }, timeoutMs: 60_000 });
      hosts.push(hostOf(settings, `node-${i}`));
    }
  } catch (err) {
    await stopHosts(dirs);
    await platform.stop();
    throw err;
  }
  const stop = async () => {
    try {
      const ids = (await platform.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await platform.berth(['rm', '-f', ...ids]);
    } catch {
      // the gateway may be down already: the sweeps below still clean up
    }
    await stopHosts(dirs);
    await platform.stop();
  };
  return { platform, hosts, berth: platform.berth, stop, [Symbol.asyncDispose]: stop };
}

async function stopHosts(dirs: TempDir[]): Promise<void> {
  for (const dir of dirs) {
    await platformDown({ dataRoot: dir.path }).catch(() => {}); // not started, or already down: the sweep cleans up
    sweepContainers(dir.path);
    dir.remove();
  }
}

function hostOf(settings: PlatformSettings, name: string): TestHost {
  const killService = (service: string) => {
    try {
      process.kill(Number(readFileSync(join(settings.runRoot, 'platform', `${service}.pid`), 'utf8').trim()), 'SIGKILL');
    } catch {
      // not running
    }
  };
  return {
    name,
    hostId: settings.hostId,
    dataRoot: settings.dataRoot,
    settings,
    kill: () => {
      killService('runtime-agent');
      killService('builder');
      sweepContainers(settings.dataRoot);
    },
    restart: async () => {
      await platformUp({ dataRoot: settings.dataRoot, timeoutMs: 60_000 });
    },
  };
}
