/**
 * Run by loopback-guard.test.ts inside a private network namespace (`ip netns exec`), so that it is
 * the whole "host" for the guard: its INPUT chain, its links and its loopback belong to nobody else,
 * and the guard's host-global decisions (install, keep while another agent has a bridge, remove
 * after the last one) can be observed exactly. Two network managers play two agents.
 *
 *   node --import tsx loopback-guard-scenario.ts WORKDIR PROBE TAG_A TAG_B
 *
 * Prints one JSON object of observations on stdout (the test asserts them); exits 1 with the error
 * on stderr when a step throws.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { NotFoundError } from '@berth/errors';
import { openMetadataDb } from '@berth/metadata';
import { execTool, mustExec } from '../host-exec.js';
import { installLoopbackGuard, loopbackGuardInstalled, removeLoopbackGuard } from '../loopback-guard.js';
import { NetworkManager } from '../network-manager.js';
import { readTcp } from './read-tcp.js';
import type { ContainerLookup } from '../network-options.js';

const [workdir, probe, tagA, tagB] = process.argv.slice(2) as [string, string, string, string];
const observed: Record<string, unknown> = {};
const servers: Server[] = [];
const children: ChildProcess[] = [];

const known = new Map<string, string>();
const lookup: ContainerLookup = {
  get(idOrName) {
    for (const [id, name] of known) {
      if (id === idOrName || name === idOrName) return { id, name, running: true, pid: 0, hostsPath: '', resolvConfPath: '' };
    }
    throw new NotFoundError(`No such container: ${idOrName}`);
  },
};

function listen(host: string, port: number): Promise<number> {
  const server = createServer((socket) => socket.end('hello from the host\n'));
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });
}

async function main(): Promise<void> {
  const open = (db: string, tag: string, subnet: string) =>
    NetworkManager.open({ db: openMetadataDb(join(workdir, db)), tag, containers: lookup, defaultBridgeSubnets: [subnet], subnetPool: ['10.213.100.0/24'] });
  observed.guardBeforeAnyBridge = await loopbackGuardInstalled();

  const a = await open('a.db', tagA, '10.213.250.0/24');
  observed.guardAfterOpen = await loopbackGuardInstalled();
  const bridge = a.inspectNetwork('bridge');
  const gateway = bridge.IPAM.Config[0]!.Gateway;
  observed.routeLocalnet = readFileSync(`/proc/sys/net/ipv4/conf/${bridge.Options['com.docker.network.bridge.name']}/route_localnet`, 'utf8').trim();

  // One port, listened on twice: on this host's loopback, and on the bridge's gateway address.
  const port = await listen('127.0.0.1', 0);
  await listen(gateway, port);

  const id = 'c'.repeat(64);
  known.set(id, 'web');
  await a.create({ id, name: '/web' }, { publish: ['127.0.0.1::80'] });
  const sandbox = await a.start({ id, hostname: 'web' });
  const netns = (sandbox.namespace as { path: string }).path.split('/').pop()!;
  const synTo = async (dst: string) => (await execTool('ip', ['netns', 'exec', netns, probe, 'eth0', gateway, dst, String(port), '1500'])).stdout.trim();

  observed.loopbackGuarded = await synTo('127.0.0.1');
  observed.gatewayGuarded = await synTo(gateway);
  // Without the guard the same probe reaches the loopback listener: the hole the guard closes.
  await removeLoopbackGuard();
  observed.loopbackUnguarded = await synTo('127.0.0.1');
  await installLoopbackGuard();

  // A port published on 127.0.0.1 still answers on the host's loopback (DNAT + route_localnet).
  const published = a.summary(id)!.Ports.find((p) => p.PublicPort !== undefined)!.PublicPort!;
  const server = spawn('ip', ['netns', 'exec', netns, 'busybox', 'sh', '-c', 'while true; do echo hello from web | busybox nc -l -p 80; done'], {
    stdio: 'ignore',
    detached: true,
  });
  children.push(server);
  observed.publishedPort = (await readTcp('127.0.0.1', published, { attempts: 31 })).trim();
  // A neighbour on the LAN (a netns behind a plain veth) forges the same SYN for the published
  // 127.0.0.1 port: a port published on the loopback is not reachable from elsewhere.
  const lan = `berth-guardtest-lan-${tagA}`;
  for (const args of [
    ['netns', 'add', lan],
    ['-n', lan, 'link', 'set', 'lo', 'up'],
    ['link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lan],
    ['addr', 'add', '10.77.0.1/24', 'dev', 'lan0'],
    ['link', 'set', 'lan0', 'up'],
    ['-n', lan, 'addr', 'add', '10.77.0.2/24', 'dev', 'eth0'],
    ['-n', lan, 'link', 'set', 'eth0', 'up'],
  ]) {
    await mustExec('ip', args);
  }
  const fromLan = await execTool('ip', ['netns', 'exec', lan, probe, 'eth0', '10.77.0.1', '127.0.0.1', String(published), '1500']);
  observed.lanToLoopbackPublished = fromLan.stdout.trim();
  await mustExec('ip', ['link', 'del', 'lan0']);

  // Agent restart: the guard is gone meanwhile (an admin flushed it), the next start puts it back.
  await removeLoopbackGuard();
  const a2 = await open('a.db', tagA, '10.213.250.0/24');
  observed.guardAfterRestart = await loopbackGuardInstalled();
  observed.loopbackAfterRestart = await synTo('127.0.0.1');

  // A second agent with its own bridge: the first one leaving keeps the guard, the last one removes it.
  const b = await open('b.db', tagB, '10.213.251.0/24');
  await a2.remove(id);
  await a2.close();
  observed.guardWhileAnotherAgentHasABridge = await loopbackGuardInstalled();
  await b.close();
  observed.guardAfterLastBridge = await loopbackGuardInstalled();
  observed.linksLeft = JSON.parse((await execTool('ip', ['-j', 'link', 'show'])).stdout).map((l: { ifname: string }) => l.ifname);
}

try {
  await main();
  process.stdout.write(`${JSON.stringify(observed)}\n`);
} catch (err) {
  process.stderr.write(`${(err as Error).stack ?? err}\nobserved so far: ${JSON.stringify(observed)}\n`);
  process.exitCode = 1;
} finally {
  for (const child of children) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // exited already
    }
  }
  for (const s of servers) s.close();
  process.exit(); // the first manager "crashed" on purpose and holds its database open
}
