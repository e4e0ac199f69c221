import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sweepTestLeftovers } from './leftover-sweep.js';
import { sweepContainers } from './test-platform.js';
import { testNetworkAlias } from './test-network.js';
import { tempDir, type TempDir } from './temp-dir.js';

const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });

/** A data root as a SIGKILLed test leaves it: host-id, a netns, a tagged link, NAT chains with a jump, an orphaned process. */
function leftover(tmp: string, name: string): { root: string; tag: string; link: string; netns: string; chain: string; pid: number } {
  const root = join(tmp, `berth-e2e-${name}`);
  mkdirSync(join(root, 'run'), { recursive: true });
  const hex = randomBytes(4).toString('hex');
  writeFileSync(join(root, 'host-id'), `${hex.slice(0, 4)}-${hex.slice(4)}-0000`);
  const tag = hex;
  const link = `bsw${hex.slice(0, 6)}`;
  const netns = `berth-${tag}-0123456789ab`;
  const chain = `BERTH-${tag.toUpperCase()}-FWD`;
  expect(sh('ip', ['link', 'add', link, 'type', 'bridge']).status).toBe(0);
  expect(sh('ip', ['link', 'set', 'dev', link, 'alias', `berth:${tag}:bridge`]).status).toBe(0);
  expect(sh('ip', ['netns', 'add', netns]).status).toBe(0);
  expect(sh('iptables', ['-w', '-t', 'filter', '-N', chain]).status).toBe(0);
  expect(sh('iptables', ['-w', '-t', 'filter', '-A', 'FORWARD', '-i', link, '-j', chain]).status).toBe(0);
  // A process of that run handed to init: `sh` starts it in the background in the root and exits.
  const r = sh('sh', ['-c', `cd ${root} && sleep 300 >/dev/null 2>&1 & echo $!`]);
  return { root, tag, link, netns, chain, pid: Number(r.stdout.trim()) };
}

/** Running, not a zombie waiting for init to reap it. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('sweepTestLeftovers', () => {
  let tmp: TempDir;
  const made: Array<ReturnType<typeof leftover>> = [];
  afterEach(() => {
    for (const m of made.splice(0)) {
      sh('ip', ['link', 'del', m.link]);
      sh('ip', ['netns', 'delete', m.netns]);
      sh('iptables', ['-w', '-D', 'FORWARD', '-i', m.link, '-j', m.chain]);
      sh('iptables', ['-w', '-F', m.chain]);
      sh('iptables', ['-w', '-X', m.chain]);
      if (alive(m.pid)) process.kill(m.pid, 'SIGKILL');
    }
    tmp.remove();
  });

  it('removes an old root whose processes were orphaned, with its host objects, and keeps a live or young one', async () => {
    tmp = tempDir('berth-sweep-test-');
    const dead = leftover(tmp.path, 'dead');
    const young = leftover(tmp.path, 'young');
    const live = leftover(tmp.path, 'live');
    made.push(dead, young, live);
    // `live` has a process whose parent is still here (a running test's service).
    const child = spawn('sleep', ['300'], { cwd: live.root, stdio: 'ignore' });
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(dead.root, hourAgo, hourAgo);
    utimesSync(live.root, hourAgo, hourAgo);
    try {
      const report = sweepTestLeftovers({ tmp: tmp.path });
      expect(report.roots).toEqual([dead.root]);
      expect(report.links).toEqual([dead.link]);
      expect(report.netns).toEqual([dead.netns]);
      expect(report.chains).toEqual([`filter/${dead.chain}`]);
      expect(existsSync(dead.root)).toBe(false);
      expect(existsSync(`/sys/class/net/${dead.link}`)).toBe(false);
      expect(existsSync(`/run/netns/${dead.netns}`)).toBe(false);
      expect(sh('iptables', ['-w', '-S', 'FORWARD']).stdout).not.toContain(dead.chain);
      await expect.poll(() => alive(dead.pid), { timeout: 5000 }).toBe(false);
      for (const kept of [young, live]) {
        expect(existsSync(kept.root)).toBe(true);
        expect(existsSync(`/sys/class/net/${kept.link}`)).toBe(true);
        expect(existsSync(`/run/netns/${kept.netns}`)).toBe(true);
        expect(sh('iptables', ['-w', '-S', kept.chain]).status).toBe(0);
      }
      expect(alive(child.pid!)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('removes a test network whose process is gone, and keeps one whose process runs', () => {
    tmp = tempDir('berth-sweep-test-');
    const gone = spawnSync('true').pid;
    const nets = [`bt${randomBytes(3).toString('hex')}`, `bt${randomBytes(3).toString('hex')}`];
    const owners = [gone, process.pid];
    try {
      nets.forEach((bridge, i) => {
        expect(sh('ip', ['link', 'add', bridge, 'type', 'bridge']).status).toBe(0);
        expect(sh('ip', ['link', 'set', 'dev', bridge, 'alias', `${testNetworkAlias}${owners[i]}`]).status).toBe(0);
        expect(sh('ip', ['netns', 'add', `${bridge}-1`]).status).toBe(0);
        expect(sh('iptables', ['-w', '-I', 'FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT']).status).toBe(0);
      });
      const report = sweepTestLeftovers({ tmp: tmp.path });
      // (contain: a killed run of another process may have left a network of its own)
      expect(report.networks).toContain(nets[0]);
      expect(report.networks).not.toContain(nets[1]);
      expect(report.netns).toContain(`${nets[0]}-1`);
      expect(existsSync(`/sys/class/net/${nets[0]}`)).toBe(false);
      expect(existsSync(`/run/netns/${nets[0]}-1`)).toBe(false);
      expect(sh('iptables', ['-w', '-S', 'FORWARD']).stdout).not.toContain(nets[0]);
      expect(existsSync(`/sys/class/net/${nets[1]}`)).toBe(true);
      expect(existsSync(`/run/netns/${nets[1]}-1`)).toBe(true);
    } finally {
      for (const bridge of nets) {
        sh('ip', ['netns', 'delete', `${bridge}-1`]);
        sh('ip', ['link', 'del', bridge]);
        sh('iptables', ['-w', '-D', 'FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT']);
      }
    }
  });

  it('only reports with dryRun', () => {
    tmp = tempDir('berth-sweep-test-');
    const dead = leftover(tmp.path, 'dry');
    made.push(dead);
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(dead.root, hourAgo, hourAgo);
    expect(sweepTestLeftovers({ tmp: tmp.path, dryRun: true }).roots).toEqual([dead.root]);
    expect(existsSync(dead.root)).toBe(true);
    expect(existsSync(`/run/netns/${dead.netns}`)).toBe(true);
    expect(alive(dead.pid)).toBe(true);
  });
});

describe('sweepContainers', () => {
  it("deletes the container netns of the hosts whose roots it sweeps (a killed agent's), and no other host's", () => {
    const tmp = tempDir('berth-sweep-test-');
    const host = join(tmp.path, 'hosts', 'node-2'); // a cluster host's root, below the cluster's
    mkdirSync(host, { recursive: true });
    const hex = randomBytes(8).toString('hex');
    writeFileSync(join(host, 'host-id'), `${hex.slice(0, 8)}-0000-0000`);
    const mine = `berth-${hex.slice(0, 8)}-0123456789ab`;
    const other = `berth-${hex.slice(8, 16)}-0123456789ab`;
    try {
      for (const ns of [mine, other]) expect(sh('ip', ['netns', 'add', ns]).status).toBe(0);
      expect(sweepContainers(tmp.path)).toEqual([mine]);
      expect(existsSync(`/run/netns/${mine}`)).toBe(false);
      expect(existsSync(`/run/netns/${other}`)).toBe(true);
      expect(sweepContainers(join(tmp.path, 'gone'))).toEqual([]); // a root that is not there: nothing to do
    } finally {
      for (const ns of [mine, other]) sh('ip', ['netns', 'delete', ns]);
      tmp.remove();
    }
  });
});
