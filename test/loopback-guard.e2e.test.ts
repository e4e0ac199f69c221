/**
 * End to end through the real CLI, gateway and agent: a container cannot reach services that listen
 * only on the host's loopback (issue 8 §1, the class of CVE-2020-8558), from the default bridge, a
 * user network or an `--internal` network, while a port published on 127.0.0.1 still answers there.
 *
 * The hostile container runs libs/network/src/testdata/syn-probe.c (compiled here, bind-mounted into
 * busybox, run with the container's own capabilities): it writes a raw TCP SYN for 127.0.0.1 to its
 * gateway's MAC address and waits for a SYN-ACK. The same probe to the gateway's own address, same
 * port, must get one (the probe works from every network), and so must the loopback probe while a
 * narrow test rule lets exactly this bridge and port past the guard (the test can fail).
 * The guard is host-global and other platforms may share this host, so "removed after the last
 * bridge" is asserted exactly only when no other Berth bridge is left; loopback-guard.test.ts proves
 * it in a private namespace.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainNames } from '@berth/network';
import { platformUp, REPO_ROOT } from '@berth/platform';
import { httpGet, startBusyboxPlatform, freePort, waitForProcessExit, type TestPlatform, signalProcess } from '@berth/testing';

let p: TestPlatform;
let stopped = false;
let dir: string;
let probe: string;
/** The port every listener of this test uses: on 127.0.0.1 and on each network's gateway address. */
let port: number;
const servers: Server[] = [];
/** Test rules to delete whatever happens: `iptables -D` arguments. */
const testRules: string[][] = [];
const networks: Record<string, { gateway: string; bridge: string }> = {};
const httpd = ['sh', '-c', 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www'];

/** Runs busybox httpd as NAME (its hostname too) published on 127.0.0.1:<free port>; returns the port. */
async function publishedWeb(name: string): Promise<number> {
  const free = await freePort();
  const r = await p.berth(['run', '-d', '--name', name, '--hostname', name, '-p', `127.0.0.1:${free}:80`, 'busybox', ...httpd]);
  expect(r.code, r.stderr).toBe(0);
  return free;
}

/** Removes every container of this platform (each test runs its own). */
async function removeContainers(): Promise<number> {
  const ids = (await p.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  return ids.length > 0 ? (await p.berth(['rm', '-f', ...ids])).code : 0;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-loopback-'));
  chmodSync(dir, 0o755);
  probe = join(dir, 'syn-probe');
  const gcc = spawnSync('gcc', ['-O2', '-static', '-o', probe, join(REPO_ROOT, 'libs/network/src/testdata/syn-probe.c')], { encoding: 'utf8' });
  expect(gcc.status, gcc.stderr).toBe(0);
  p = await startBusyboxPlatform();
  expect((await p.berth(['network', 'create', 'lbuser'])).code).toBe(0);
  expect((await p.berth(['network', 'create', '--internal', 'lbinternal'])).code).toBe(0);
  for (const name of ['bridge', 'lbuser', 'lbinternal']) {
    const r = await p.berth(['network', 'inspect', name]);
    expect(r.code, r.stderr).toBe(0);
    const [n] = JSON.parse(r.stdout) as Array<{ Id: string; IPAM: { Config: Array<{ Gateway: string }> }; Options: Record<string, string> }>;
    networks[name] = { gateway: n!.IPAM.Config[0]!.Gateway, bridge: n!.Options['com.docker.network.bridge.name'] ?? `br-${n!.Id.slice(0, 12)}` };
  }
  port = await listen('127.0.0.1', 0);
  for (const n of Object.values(networks)) await listen(n.gateway, port);
}, 180_000);

afterAll(async () => {
  for (const rule of testRules.splice(0)) spawnSync('iptables', ['-w', '-D', ...rule], { stdio: 'ignore' });
  for (const server of servers) server.close();
  if (p && !stopped) {
    const tag = readFileSync(join(p.dataRoot, 'host-id'), 'utf8').replace(/-/g, '').slice(0, 8);
    await removeContainers().catch(() => {}); // may be gone already: stop() sweeps anyway
    for (const n of ['lbuser', 'lbinternal']) await p.berth(['network', 'rm', n]).catch(() => {}); // idem
    await p.stop();
    sweepNetworkObjects(tag);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * What a failed test may leave when the agent died before it could take its network down (a
 * stopped platform only removes containers): links, namespaces and rules of agent `tag`.
 */
function sweepNetworkObjects(tag: string): void {
  const links = JSON.parse(spawnSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' }).stdout || '[]') as Array<{ ifname: string; ifalias?: string }>;
  for (const l of links) if (l.ifalias?.startsWith(`berth:${tag}:`)) spawnSync('ip', ['link', 'del', 'dev', l.ifname], { stdio: 'ignore' });
  for (const ns of spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n')) {
    const name = ns.split(' ')[0]!;
    if (name.startsWith(`berth-${tag}-`)) spawnSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
  }
  const chains = Object.values(chainNames(tag));
  for (const table of ['nat', 'filter']) {
    const rules = spawnSync('iptables', ['-w', '-t', table, '-S'], { encoding: 'utf8' }).stdout.split('\n');
    for (const rule of rules.filter((r) => /^-A (PREROUTING|OUTPUT|POSTROUTING|FORWARD) /.test(r) && chains.some((c) => r.endsWith(`-j ${c}`)))) {
      spawnSync('iptables', ['-w', '-t', table, '-D', ...rule.slice(3).split(' ')], { stdio: 'ignore' });
    }
    for (const chain of chains) {
      spawnSync('iptables', ['-w', '-t', table, '-F', chain], { stdio: 'ignore' });
      spawnSync('iptables', ['-w', '-t', table, '-X', chain], { stdio: 'ignore' });
    }
  }
}

function listen(host: string, onPort: number): Promise<number> {
  const server = createServer((socket) => socket.end('hello from the host\n'));
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: onPort, host, exclusive: true }, () => resolve((server.address() as { port: number }).port));
  });
}

/** The probe's verdicts from a throwaway container on `network`: one line per destination. */
async function synFrom(network: string, destinations: string[], toPort = port): Promise<string[]> {
  const gateway = networks[network]!.gateway;
  const script = destinations.map((d) => `/probe eth0 ${gateway} ${d} ${toPort} 1500`).join('; ');
  const r = await p.berth(['run', '--rm', '--network', network, '-v', `${probe}:/probe:ro`, 'busybox', 'sh', '-c', script]);
  expect(r.stderr).toBe('');
  return r.stdout.trim().split('\n');
}

function guardInstalled(): boolean {
  return spawnSync('iptables', ['-w', '-C', 'INPUT', '-j', 'BERTH-LOOPBACK']).status === 0;
}

describe("the host's loopback", () => {
  it('does not answer a raw SYN from a container on the default bridge, a user network or an internal network', async () => {
    const verdicts: Record<string, string[]> = {};
    for (const network of ['bridge', 'lbuser', 'lbinternal']) {
      // [127.0.0.1:port, gateway:port]: the same listener port, only the address differs.
      verdicts[network] = await synFrom(network, ['127.0.0.1', networks[network]!.gateway]);
    }
    expect(verdicts).toEqual({ bridge: ['no answer', 'SYN-ACK'], lbuser: ['no answer', 'SYN-ACK'], lbinternal: ['no answer', 'SYN-ACK'] });
    expect(guardInstalled()).toBe(true);
  });

  it('answers that probe when a test rule lets exactly this bridge and port past the guard', async () => {
    const rule = ['INPUT', '-i', networks.lbuser!.bridge, '-d', '127.0.0.1/32', '-p', 'tcp', '--dport', String(port), '-m', 'comment', '--comment', 'berth-e2e-bypass', '-j', 'ACCEPT'];
    testRules.push(rule);
    expect(spawnSync('iptables', ['-w', '-I', ...rule.slice(0, 1), '1', ...rule.slice(1)]).status).toBe(0);
    try {
      expect(await synFrom('lbuser', ['127.0.0.1'])).toEqual(['SYN-ACK']);
    } finally {
      spawnSync('iptables', ['-w', '-D', ...rule], { stdio: 'ignore' });
      testRules.splice(testRules.indexOf(rule), 1);
    }
  });

  it('still serves a port published on 127.0.0.1, to the host only', async () => {
    const free = await publishedWeb('lbweb');
    expect(await httpGet(free)).toContain('hello from lbweb');
    // A container forging a SYN for that 127.0.0.1 port gets nothing either (moby/moby#41872).
    expect(await synFrom('bridge', ['127.0.0.1'], free)).toEqual(['no answer']);
  });

  it('is in place again after the agent is killed and restarted, and the published port still answers', async () => {
    const published = await publishedWeb('lbkept');
    expect(await httpGet(published)).toContain('hello from lbkept');
    const agentPid = Number(readFileSync(join(p.settings.runRoot, 'platform', 'runtime-agent.pid'), 'utf8'));
    signalProcess(agentPid, 'SIGKILL');
    await waitForProcessExit(agentPid); // reaped: platformUp takes a zombie for a running agent
    await platformUp({ dataRoot: p.dataRoot });
    expect(guardInstalled()).toBe(true);
    expect(await synFrom('bridge', ['127.0.0.1'])).toEqual(['no answer']);
    expect(Number((await p.berth(['port', 'lbkept', '80'])).stdout.trim().split(':').pop())).toBe(published);
    expect(await httpGet(published)).toContain('hello from lbkept');
  });

  it('leaves with the last Berth bridge once the platform is down, and nothing of this platform is left', async () => {
    expect(await removeContainers()).toBe(0);
    expect((await p.berth(['network', 'rm', 'lbuser', 'lbinternal'])).code).toBe(0);
    await p.stop();
    stopped = true;
    const links = JSON.parse(spawnSync('ip', ['-j', '-d', 'link', 'show'], { encoding: 'utf8' }).stdout) as Array<{
      ifname: string;
      ifalias?: string;
      linkinfo?: { info_kind?: string };
    }>;
    const ours = Object.values(networks).map((n) => n.bridge);
    expect(links.filter((l) => ours.includes(l.ifname))).toEqual([]);
    // Another platform on this host (another engineer's tests) keeps the guard while it has a bridge.
    const others = links.filter((l) => l.linkinfo?.info_kind === 'bridge' && l.ifalias?.startsWith('berth:'));
    expect({ others: others.map((l) => l.ifname), guard: guardInstalled() }).toEqual({ others: others.map((l) => l.ifname), guard: others.length > 0 });
  });
});
