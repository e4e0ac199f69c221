import { spawnSync } from 'node:child_process';
import { UnavailableError } from '@berth/errors';

const RESERVED_PORTS = '/proc/sys/net/ipv4/ip_local_reserved_ports';

/**
 * Keeps a host's service ports (its nats-server's client and route ports, the agent's and builder's
 * TLS ports, …) out of the ephemeral ports the kernel hands to outgoing connections in the network
 * namespace `netns` (`/run/netns/<netns>`, libs/testing's test hosts), by adding them to that
 * namespace's own `net.ipv4.ip_local_reserved_ports`. A service binds its port explicitly, which a
 * reservation does not prevent.
 *
 * Why: the ports are chosen (bind to port 0, platform-settings.ts) before the services exist, and a
 * service binds its port a moment later, in its namespace, on its host's address. Meanwhile an
 * outgoing connection from that namespace (nats-server's routes, the agent's NATS connection) may
 * get the same port as its source and the bind fails: a joining host's agent once died with
 * `listen EADDRINUSE 10.99.214.2:43731`. Done before the first service of the namespace starts, the
 * reservation leaves no such window. Choosing ports below the ephemeral range instead (b175fcd,
 * reverted) changed which ports the services have; this changes none.
 *
 * Only for a namespace of the platform's own: the root namespace's list is the machine's.
 * Called again at each `platform up`: ports already there stay (the kernel merges the list).
 */
export function reserveNetnsPorts(netns: string, ports: number[]): void {
  const list = [...new Set(ports)].filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
  if (list.length === 0) return;
  // /proc/sys/net shows the network namespace of the process that opens it: nsenter's child's.
  const script = `cur=$(cat ${RESERVED_PORTS}) && echo "\${cur:+$cur,}$1" > ${RESERVED_PORTS}`;
  const r = spawnSync('nsenter', [`--net=/run/netns/${netns}`, '--', 'sh', '-c', script, 'sh', list.join(',')], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new UnavailableError(`Cannot reserve the ports ${list.join(', ')} in network namespace "${netns}": ${(r.stderr || r.error?.message || '').trim()}`);
  }
}
