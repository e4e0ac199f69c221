import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

/**
 * The network of a test cluster's hosts on this machine: a bridge (`bt<6 hex>`, unique per test
 * run) with a private /24 whose `.1` is this (the root) namespace's address, and per host a named
 * network namespace (`<bridge>-<i>`) with a veth into the bridge (`eth0` inside, `<bridge>h<i>`
 * outside) addressed `.<i+1>`, its loopback up and its default route through `.1`. Every host reaches
 * every other one and the root namespace reaches them all (the tests' CLI, published ports).
 * Bridged traffic passes the root namespace's FORWARD chain (br_netfilter), so one rule accepts the
 * bridge's own traffic whatever the other chains there say. `remove()` deletes the namespaces (and
 * with them their veths and everything in them), the bridge and the rule; it never throws.
 */
export interface TestNetwork {
  bridge: string;
  /** `10.99.N` : the first three octets of the subnet. */
  prefix: string;
  /** Adds host `i` (1-based): its netns name and address. */
  addHost(i: number): { netns: string; address: string };
  remove(): void;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** A /24 under 10.99.0.0/16 that no address of this namespace is in (several test clusters run side by side). */
function freePrefix(): string {
  const used = spawnSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' }).stdout;
  for (let attempt = 0; attempt < 50; attempt++) {
    const prefix = `10.99.${1 + randomBytes(1)[0]! % 254}`;
    if (!used.includes(` ${prefix}.`)) return prefix;
  }
  throw new Error('No free /24 under 10.99.0.0/16 for a test network');
}

/** A test network's bridge has the alias `berth-test:<pid of the test process>`. */
export const testNetworkAlias = 'berth-test:';

export function createTestNetwork(): TestNetwork {
  const bridge = `bt${randomBytes(3).toString('hex')}`;
  const prefix = freePrefix();
  const rule = ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
  const namespaces: string[] = [];
  const remove = () => {
    for (const netns of namespaces) spawnSync('ip', ['netns', 'delete', netns], { stdio: 'ignore' });
    spawnSync('ip', ['link', 'delete', bridge], { stdio: 'ignore' });
    spawnSync('iptables', ['-D', ...rule], { stdio: 'ignore' });
  };
  try {
    ip(['link', 'add', bridge, 'type', 'bridge']);
    // Whose it is: leftover-sweep.ts removes a test network whose process is gone (a killed run).
    ip(['link', 'set', 'dev', bridge, 'alias', `${testNetworkAlias}${process.pid}`]);
    ip(['addr', 'add', `${prefix}.1/24`, 'dev', bridge]);
    ip(['link', 'set', bridge, 'up']);
    const r = spawnSync('iptables', ['-I', ...rule]);
    if (r.status !== 0) throw new Error(`iptables -I ${rule.join(' ')}: ${String(r.stderr).trim()}`);
  } catch (err) {
    remove();
    throw err;
  }
  return {
    bridge,
    prefix,
    addHost(i) {
      const netns = `${bridge}-${i}`;
      const outside = `${bridge}h${i}`;
      const address = `${prefix}.${i + 1}`;
      if (existsSync(`/run/netns/${netns}`)) throw new Error(`Test host ${i} exists already (${netns})`);
      ip(['netns', 'add', netns]);
      namespaces.push(netns);
      ip(['link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
      ip(['link', 'set', outside, 'master', bridge, 'up']);
      ip(['-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', netns, 'link', 'set', 'lo', 'up']);
      ip(['-n', netns, 'route', 'add', 'default', 'via', `${prefix}.1`]);
      return { netns, address };
    },
    remove,
  };
}
