import { execTool, mustExec } from './host-exec.js';
import { hasRule, removeChains, saveRules } from './iptables-batch.js';

/**
 * The iptables rules of one Berth agent, rendered as a whole from its state and applied atomically
 * with `iptables-restore --noflush` (which replaces the contents of the chains it declares and
 * leaves every other chain alone). Rebuilding from state makes every change — and reconciliation
 * after a crash — free of duplicates and leftovers. Debian 12's iptables is the nf_tables backend.
 *
 *   nat    BERTH-<TAG>        DNAT of published ports; from PREROUTING and OUTPUT (dst-type LOCAL,
 *                             so 127.0.0.1 and the host's own addresses both work; ports on
 *                             127.0.0.0/8 only for the host's own sources)
 *   nat    BERTH-<TAG>-POST   MASQUERADE of outbound traffic of non-internal networks, of loopback
 *                             clients of published ports, and of hairpin connections
 *   filter BERTH-<TAG>-FWD    isolation between networks, `--internal` networks cut off, then
 *                             accept the bridges' traffic; jumped to first from FORWARD
 *
 * <TAG> is the agent's tag (8 hex characters of its host id), so two agents on one machine (tests
 * next to a real platform) never touch each other's rules.
 */

export interface NatNetwork {
  bridge: string;
  subnet: string;
  internal: boolean;
}

export interface NatPort {
  proto: string;
  /** '' or 0.0.0.0: every local address. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

export interface NatState {
  networks: NatNetwork[];
  ports: NatPort[];
}

export function chainNames(tag: string): { dnat: string; post: string; forward: string } {
  const base = `BERTH-${tag.toUpperCase()}`;
  return { dnat: base, post: `${base}-POST`, forward: `${base}-FWD` };
}

/** The jumps from the built-in chains into ours: [table, chain, rule args]. */
function jumps(tag: string): Array<[string, string, string[]]> {
  const c = chainNames(tag);
  return [
    ['nat', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.dnat]],
    ['nat', 'OUTPUT', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', c.dnat]],
    ['nat', 'POSTROUTING', ['-j', c.post]],
    ['filter', 'FORWARD', ['-j', c.forward]],
  ];
}

/**
 * The iptables-restore input that sets our three chains to exactly what `state` needs, and inserts
 * first in their built-in chains the `missing` jumps (of `jumps(tag)`) into them.
 */
export function renderRules(tag: string, state: NatState, missing: ReadonlyArray<[string, string, string[]]> = []): string {
  const c = chainNames(tag);
  const insert = (table: string) => missing.filter(([t]) => t === table).map(([, chain, rule]) => `-I ${chain} 1 ${rule.join(' ')}`);
  const nat = ['*nat', `:${c.dnat} - [0:0]`, `:${c.post} - [0:0]`, ...insert('nat')];
  const filter = ['*filter', `:${c.forward} - [0:0]`, ...insert('filter')];
  const bridgeOf = new Map<string, NatNetwork>();
  for (const n of state.networks) bridgeOf.set(n.subnet, n);
  for (const p of state.ports) {
    const dest = p.hostIp && p.hostIp !== '0.0.0.0' ? `-d ${p.hostIp}/32 ` : '';
    // A port published on the loopback is for the host's own processes: a SYN for 127.0.0.1 forged
    // by a LAN neighbour or a container (moby/moby#41872) is not DNAT'ed, and the loopback guard
    // (loopback-guard.ts) drops it on INPUT.
    const local = p.hostIp.startsWith('127.') ? '-m addrtype --src-type LOCAL ' : '';
    nat.push(`-A ${c.dnat} ${dest}${local}-p ${p.proto} -m ${p.proto} --dport ${p.hostPort} -j DNAT --to-destination ${p.containerIp}:${p.containerPort}`);
    // A container reaching its own published port through the host (hairpin).
    nat.push(`-A ${c.post} -s ${p.containerIp}/32 -d ${p.containerIp}/32 -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} -j MASQUERADE`);
  }
  for (const n of state.networks) {
    if (!n.internal) nat.push(`-A ${c.post} -s ${n.subnet} ! -o ${n.bridge} -j MASQUERADE`);
    // Clients on 127.0.0.1 of a published port: the container must see a routable source.
    nat.push(`-A ${c.post} -s 127.0.0.0/8 -o ${n.bridge} -j MASQUERADE`);
  }
  for (const a of state.networks) {
    for (const b of state.networks) {
      if (a !== b) filter.push(`-A ${c.forward} -i ${a.bridge} -o ${b.bridge} -j DROP`);
    }
    if (a.internal) {
      filter.push(`-A ${c.forward} -i ${a.bridge} ! -o ${a.bridge} -j DROP`);
      filter.push(`-A ${c.forward} -o ${a.bridge} ! -i ${a.bridge} -j DROP`);
    }
  }
  for (const n of state.networks) {
    filter.push(`-A ${c.forward} -o ${n.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
    filter.push(`-A ${c.forward} -i ${n.bridge} -j ACCEPT`);
  }
  for (const p of state.ports) {
    const n = [...bridgeOf.values()].find((net) => subnetHas(net.subnet, p.containerIp));
    if (n) filter.push(`-A ${c.forward} -d ${p.containerIp}/32 -o ${n.bridge} -p ${p.proto} -m ${p.proto} --dport ${p.containerPort} -j ACCEPT`);
  }
  return [...nat, 'COMMIT', ...filter, 'COMMIT', ''].join('\n');
}

function subnetHas(subnet: string, ip: string): boolean {
  const [base, prefix] = subnet.split('/') as [string, string];
  const toNum = (s: string) => s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(prefix));
  return Math.floor(toNum(ip) / size) === Math.floor(toNum(base) / size);
}

/**
 * Applies `state`: our chains get exactly its rules and the jumps into them exist once, in one
 * iptables-save (which jumps are there) and one iptables-restore (atomic per table). Throws
 * InternalError when iptables refuses.
 */
export async function applyRules(tag: string, state: NatState): Promise<void> {
  const saved = await saveRules();
  const missing = jumps(tag).filter(([table, chain, rule]) => !hasRule(saved, table, chain, rule));
  await mustExec('iptables-restore', ['-w', '--noflush'], renderRules(tag, state, missing));
}

/**
 * Removes every jump into our chains (all copies) and the chains (reconciliation start and final
 * teardown), in one iptables-save and one iptables-restore; nothing to remove is fine. Throws
 * InternalError when iptables refuses.
 */
export async function removeRules(tag: string): Promise<void> {
  const c = chainNames(tag);
  await removeChains([['nat', c.dnat], ['nat', c.post], ['filter', c.forward]]);
}

/** Every rule (`iptables -S` lines, nat and filter) that mentions `text` (tests, leak checks). */
export async function rulesMentioning(text: string): Promise<string[]> {
  const lines: string[] = [];
  for (const table of ['nat', 'filter']) {
    const out = await execTool('iptables', ['-w', '-t', table, '-S']);
    lines.push(...out.stdout.split('\n').filter((l) => l.includes(text)));
  }
  return lines;
}
