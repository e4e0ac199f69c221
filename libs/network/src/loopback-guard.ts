import { execTool, mustExec } from './host-exec.js';
import { withHostLock } from './host-lock.js';
import { hasRule, removeChains, saveRules } from './iptables-batch.js';
import { listLinks, setSysctl } from './host-links.js';

/**
 * The host's loopback, closed to containers (the class of CVE-2020-8558).
 *
 * Ports published on 127.0.0.1 are DNAT'ed from the host's loopback to a container on a bridge, and
 * the kernel routes a packet with a 127/8 source out of a non-loopback device only when that
 * device has `route_localnet` on; so every Berth bridge has it. The same switch also makes the
 * kernel accept packets *arriving* on the bridge for 127.0.0.0/8 as local: a container with
 * CAP_NET_RAW (Docker's default set has it) can write an Ethernet frame to its gateway addressed to
 * 127.0.0.1 and talk to every service that listens on the host's loopback only (nats-server, the
 * registry, databases…), which believe such peers are local.
 *
 * The guard is the rule Kubernetes added for the same hole, in the filter table, jumped to first
 * from INPUT:
 *
 *   -A INPUT -j BERTH-LOOPBACK
 *   -A BERTH-LOOPBACK -d 127.0.0.0/8 ! -i lo -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT
 *      -m comment --comment "…" -j DROP
 *
 * A packet for 127/8 that did not come in on `lo` is dropped unless it belongs to a connection the
 * host opened (the replies of a published port's container, which conntrack un-NATs back to
 * 127.0.0.1 on the bridge) or was itself DNAT'ed there. Ports published on 127.0.0.0/8 are DNAT'ed
 * for the host's own sources only (nat-rules.ts), so a forged SYN for one of them is not DNAT'ed
 * either: it meets this rule.
 *
 * Keeping route_localnet and guarding it, rather than publishing loopback ports without it: the
 * alternatives are a userland proxy per port (docker-proxy: every byte copied through a process,
 * and the ports die with the agent while their containers keep running) or eBPF connect hooks (a
 * new toolchain); kernel DNAT stays as fast as before and the guard costs one rule on INPUT.
 *
 * The guard is host-global, shared by every Berth agent on the machine (test platforms next to a
 * real one): `allowLoopbackDnat` installs it (idempotently) before it turns route_localnet on for a
 * bridge, and `removeLoopbackGuardIfUnused` takes it away only when no Berth bridge of any agent is
 * left. Both run under the host lock (host-lock.ts), so one agent's removal can never race another
 * agent's new bridge.
 */

export const loopbackGuardChain = 'BERTH-LOOPBACK';

const comment = "berth: containers cannot reach the host's loopback (CVE-2020-8558)";
const dropRule = ['-d', '127.0.0.0/8', '!', '-i', 'lo', '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', '-m', 'comment', '--comment', comment, '-j', 'DROP'];
const jump = ['INPUT', '-j', loopbackGuardChain];

/** The iptables-restore input that sets the guard chain to exactly its one rule, and adds the jump to it first in INPUT when `withJump`. */
export function renderLoopbackGuard(o: { withJump?: boolean } = {}): string {
  const rule = dropRule.map((word) => (word === comment ? `"${comment}"` : word)).join(' ');
  const insert = o.withJump ? [`-I INPUT 1 -j ${loopbackGuardChain}`] : [];
  return ['*filter', `:${loopbackGuardChain} - [0:0]`, `-A ${loopbackGuardChain} ${rule}`, ...insert, 'COMMIT', ''].join('\n');
}

/**
 * Turns route_localnet on for `bridge` (published ports on 127.0.0.1 need it), installing the guard
 * first. Throws InternalError when iptables refuses: the bridge then stays closed to loopback DNAT.
 */
export async function allowLoopbackDnat(bridge: string): Promise<void> {
  await withHostLock(async () => {
    await installLoopbackGuard();
    setSysctl(`net/ipv4/conf/${bridge}/route_localnet`, '1');
  });
}

/**
 * After this agent took its bridges down: removes the guard when no Berth bridge (of any agent) is
 * left on the host. @returns whether it was removed.
 */
export async function removeLoopbackGuardIfUnused(): Promise<boolean> {
  // Another agent's bridge: the guard stays, and that agent's own removal checks again under the
  // lock. Only "none left" needs the lock (a bridge being made holds it while it installs the guard).
  if ((await berthBridges()).length > 0) return false;
  return withHostLock(async () => {
    if ((await berthBridges()).length > 0) return false;
    await removeLoopbackGuard();
    return true;
  });
}

/** Whether the guard's jump and rule are both in place. */
export async function loopbackGuardInstalled(): Promise<boolean> {
  const jumps = await execTool('iptables', ['-w', '-C', ...jump]);
  if (jumps.code !== 0) return false;
  return (await execTool('iptables', ['-w', '-C', loopbackGuardChain, ...dropRule])).code === 0;
}

/**
 * Installs the guard; idempotent: the chain is rewritten whole, and the jump added only when
 * missing, in the same iptables-restore (one iptables-save says whether it is there).
 */
export async function installLoopbackGuard(): Promise<void> {
  const withJump = !hasRule(await saveRules(), 'filter', jump[0], jump.slice(1));
  await mustExec('iptables-restore', ['-w', '--noflush'], renderLoopbackGuard({ withJump }));
}

/**
 * Removes every jump to the guard and its chain, whoever needs it (see removeLoopbackGuardIfUnused),
 * in one iptables-save and one iptables-restore; a guard already gone is fine.
 */
export async function removeLoopbackGuard(): Promise<void> {
  await removeChains([['filter', loopbackGuardChain]]);
}

/** The bridges of every Berth agent on the host (their alias starts with `berth:`, see network-context.ts). */
async function berthBridges(): Promise<string[]> {
  return (await listLinks()).filter((l) => l.kind === 'bridge' && l.alias.startsWith('berth:')).map((l) => l.name);
}
