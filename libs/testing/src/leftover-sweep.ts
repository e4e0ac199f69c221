import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testNetworkAlias } from './test-network.js';
import { hostTags, listNetns, sweepContainers } from './test-platform.js';

/**
 * What a test run killed by SIGKILL leaves (a timed-out vitest worker, a developer's Ctrl-C twice):
 * its `/tmp/berth-e2e-*` data roots with runc containers, conmon monitors and overlay mounts, and,
 * per host of those roots, the agent's bridges and veths (interface alias `berth:<tag>…`), its
 * container netns (`berth-<tag>-…`) and its iptables chains (`BERTH-<TAG>`, `-POST`, `-FWD` and
 * their jumps). `stop()` of a test platform removes all of that; a killed test never calls it, and
 * the next runs then fail with "could not find an available IPv4 address pool".
 *
 * A root is a leftover when it is older than `minAgeMs` (no e2e file runs that long) and no process
 * that belongs to it is still attached to a live parent: a running test's services are children of
 * its vitest worker, while a killed run's survivors (a nats-server, an agent) were handed to init.
 * conmon always runs under init, so it alone never keeps a root alive. A test cluster's network
 * (test-network.ts: a `bt…` bridge, a netns per host) goes when the process named in the bridge's
 * alias is gone.
 */
export interface SweepReport {
  roots: string[];
  /** Test networks' bridges whose process is gone. */
  networks: string[];
  links: string[];
  netns: string[];
  chains: string[];
}

const ROOT_PREFIX = 'berth-e2e-';

export function sweepTestLeftovers(o: { tmp?: string; minAgeMs?: number; dryRun?: boolean } = {}): SweepReport {
  const tmp = o.tmp ?? tmpdir();
  const minAgeMs = o.minAgeMs ?? 60 * 60_000;
  const report: SweepReport = { roots: [], networks: [], links: [], netns: [], chains: [] };
  const processes = listProcesses();
  for (const name of readdirSync(tmp)) {
    if (!name.startsWith(ROOT_PREFIX)) continue;
    const root = join(tmp, name);
    const stat = statSync(root, { throwIfNoEntry: false });
    if (!stat?.isDirectory() || Date.now() - stat.mtimeMs < minAgeMs) continue;
    const owners = processes.filter((p) => p.mentions(root));
    if (owners.some((p) => p.ppid !== 1 && !p.conmon)) continue; // a live test's services
    const tags = hostTags(root);
    report.roots.push(root);
    if (o.dryRun) continue;
    for (const p of owners) kill(p.pid);
    report.netns.push(...sweepContainers(root));
    for (const tag of tags) sweepHost(tag, report);
    rmSync(root, { recursive: true, force: true });
  }
  for (const link of listLinks()) {
    if (!link.ifalias?.startsWith(testNetworkAlias)) continue;
    const owner = Number(link.ifalias.slice(testNetworkAlias.length));
    if (!Number.isInteger(owner) || owner <= 0 || existsSync(`/proc/${owner}`)) continue;
    report.networks.push(link.ifname);
    if (o.dryRun) continue;
    for (const ns of listNetns()) {
      if (ns.startsWith(`${link.ifname}-`) && sh('ip', ['netns', 'delete', ns]).ok) report.netns.push(ns);
    }
    if (sh('ip', ['link', 'del', 'dev', link.ifname]).ok) report.links.push(link.ifname);
    sh('iptables', ['-w', '-D', 'FORWARD', '-i', link.ifname, '-o', link.ifname, '-j', 'ACCEPT']);
  }
  return report;
}

function listLinks(): Array<{ ifname: string; ifalias?: string }> {
  return JSON.parse(sh('ip', ['-j', 'link', 'show']).stdout || '[]') as Array<{ ifname: string; ifalias?: string }>;
}


interface ProcessInfo {
  pid: number;
  ppid: number;
  conmon: boolean;
  mentions(path: string): boolean;
}

function listProcesses(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${entry}/cwd`);
      } catch {
        // a kernel thread, or gone meanwhile: its command line still counts
      }
      const conmon = cmdline.startsWith('conmon\0') || cmdline.includes('/conmon\0');
      const within = (text: string, path: string) => text === path || text.includes(path + '/') || text.includes(path + '\0');
      found.push({ pid: Number(entry), ppid, conmon, mentions: (path) => within(cmdline + '\0', path) || within(cwd + '\0', path) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

function sh(command: string, args: string[]): { ok: boolean; stdout: string } {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return { ok: r.status === 0, stdout: r.stdout ?? '' };
}

/** The agent's objects of one host tag: links by alias, netns by name, NAT chains (libs/network nat-rules.ts). */
function sweepHost(tag: string, report: SweepReport): void {
  for (const link of listLinks()) {
    if (!link.ifalias?.startsWith(`berth:${tag}`)) continue;
    if (sh('ip', ['link', 'del', 'dev', link.ifname]).ok) report.links.push(link.ifname);
  }
  for (const ns of listNetns()) {
    if (ns.startsWith(`berth-${tag}-`) && sh('ip', ['netns', 'delete', ns]).ok) report.netns.push(ns);
  }
  const base = `BERTH-${tag.toUpperCase()}`;
  for (const table of ['nat', 'filter']) {
    const rules = sh('iptables', ['-w', '-t', table, '-S']).stdout.split('\n');
    // Jumps into our chains from the built-in ones first, then the chains themselves.
    for (const rule of rules) {
      const m = /^-A (PREROUTING|OUTPUT|POSTROUTING|FORWARD) (.*-j (\S+))$/.exec(rule);
      if (m && (m[3] === base || m[3]!.startsWith(`${base}-`))) sh('iptables', ['-w', '-t', table, '-D', m[1]!, ...m[2]!.split(' ')]);
    }
    for (const rule of rules) {
      const chain = /^-N (\S+)$/.exec(rule)?.[1];
      if (chain && (chain === base || chain.startsWith(`${base}-`))) {
        sh('iptables', ['-w', '-t', table, '-F', chain]);
        if (sh('iptables', ['-w', '-t', table, '-X', chain]).ok) report.chains.push(`${table}/${chain}`);
      }
    }
  }
}
