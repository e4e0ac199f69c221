/**
 * End to end through the real CLI, gateway and agent: the networking part of the networking and
 * volumes issue. Containers on a user network reach each other by name (embedded DNS) but not
 * across networks; published TCP and UDP ports answer on 127.0.0.1; `-p 80` picks a port Docker's
 * way; a taken port is an error; the agent can be killed and restarted; nothing is left on the host.
 * Traffic only goes to 127.0.0.1 and to the bridges and namespaces this test made (10.<octet>.x).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformUp } from '@berth/platform';
import { httpGet, startBusyboxPlatform, udpRequest, waitForProcessExit, type TestPlatform, signalProcess } from '@berth/testing';

let p: TestPlatform;
const helpers: ChildProcess[] = [];
const servers: Server[] = [];
/** Every container id this file ran (for the leftover checks). */
const ids: string[] = [];
/** Every network this file made, with its subnet prefix (each test makes its own: any order works). */
const networks = new Map<string, string>();

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(async () => {
  for (const child of helpers) child.kill('SIGKILL');
  for (const server of servers) server.close();
  await p?.berth(['rm', '-f', ...ids]).catch(() => {});
  for (const n of networks.keys()) await p?.berth(['network', 'rm', n]).catch(() => {}); // removed by a test already, or the platform is down: stop() sweeps
  await p?.stop();
});

const httpd = ['sh', '-c', 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www'];
const get = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3";
/** A shell snippet fetching http://HOST/ with busybox nc, retried while the server starts. */
const fetchFrom = (host: string) =>
  `for i in $(seq 1 20); do out=$(${get} ${host} 80) && [ -n "$out" ] && break; sleep 0.3; done; echo "$out"`;

async function run(args: string[]): Promise<string> {
  const r = await p.berth(['run', '-d', ...args]);
  expect(r.code, r.stderr).toBe(0);
  const id = r.stdout.trim();
  ids.push(id);
  return id;
}

/**
 * The second octet of this run's subnets: 10.200–10.212 by process, so that two runs of this file at
 * once (a developer's beside the suite's) do not ask for the same subnets. Taken elsewhere: 10.213
 * (loopback-guard scenario), 10.214 and 10.215 (benchmarks, overlay tests), 10.231–10.248 (the
 * default bridges of the agents on this host: libs/network network-catalogue.ts).
 */
const octet = 200 + (process.pid % 13);
const subnetRe = (n: number) => new RegExp(`10\\.${octet}\\.${n}\\.\\d+`);

/** `network create --subnet 10.<octet>.<n>.0/24 NAME ...`, remembered for the cleanup checks. */
async function createNetwork(name: string, n: number, ...flags: string[]): Promise<void> {
  const r = await p.berth(['network', 'create', '--subnet', `10.${octet}.${n}.0/24`, ...flags, name]);
  expect(r.code, r.stderr).toBe(0);
  networks.set(name, `10.${octet}.${n}.`);
}

/** Runs a throwaway container and returns its output (stdout + stderr) and exit code. */
async function probe(network: string, script: string): Promise<{ code: number; output: string }> {
  const r = await p.berth(['run', '--rm', '--network', network, 'busybox', 'sh', '-c', script]);
  return { code: r.code, output: r.stdout + r.stderr };
}

async function inspect(name: string, format: string): Promise<string> {
  return (await p.berth(['inspect', '--format', format, name])).stdout.trim();
}

const hostPort = (line: string) => Number(line.trim().split(':').pop());

describe('user-defined networks', () => {
  it('lets containers reach each other by name and alias, not across networks, and forgets removed ones', async () => {
    await createNetwork('front', 1);
    await createNetwork('back', 2, '--label', 'tier=back');
    const ls = await p.berth(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
    expect(ls.stdout.split('\n')).toEqual(expect.arrayContaining(['back bridge', 'bridge bridge', 'front bridge', 'host host', 'none null']));

    await run(['--name', 'web', '--hostname', 'web1', '--network', 'front', '--network-alias', 'site', 'busybox', ...httpd]);
    await run(['--name', 'web2', '--hostname', 'web2', '--network', 'front', '--network-alias', 'site', 'busybox', ...httpd]);
    const webIp = await inspect('web', '{{.NetworkSettings.Networks.front.IPAddress}}');
    expect(webIp).toMatch(new RegExp(`^${subnetRe(1).source}$`));
    expect((await p.berth(['network', 'inspect', '--format', '{{range .Containers}}{{.Name}} {{end}}', 'front'])).stdout).toMatch(/web/);

    // By name, with busybox nc and httpd.
    const byName = await probe('front', fetchFrom('web'));
    expect(byName.output).toContain('hello from web1');
    // One alias, two containers: two A records.
    const alias = await probe('front', 'nslookup site');
    expect(alias.output.match(new RegExp(`Address: ${subnetRe(1).source}`, 'g'))?.length).toBe(2);
    // The container's own /etc/hosts and resolv.conf.
    const files = await probe('front', 'cat /etc/resolv.conf');
    expect(files.output).toContain(`nameserver 10.${octet}.1.1`);

    // Not across networks: neither the name nor the address.
    const other = await probe('back', `nslookup web; ${get} ${webIp} 80; echo rc=$?`);
    expect(other.output).toContain("can't find web");
    expect(other.output).not.toContain('hello from');
    expect(other.output).toContain('rc=1');

    // `network connect` makes it reachable from the other network too, under a new alias.
    expect((await p.berth(['network', 'connect', '--alias', 'api', 'back', 'web'])).code).toBe(0);
    expect((await probe('back', fetchFrom('api'))).output).toContain('hello from web1');
    expect((await p.berth(['network', 'disconnect', 'back', 'web'])).code).toBe(0);

    // A removed container stops resolving.
    expect((await p.berth(['rm', '-f', 'web'])).code).toBe(0);
    const gone = await probe('front', 'nslookup web');
    expect(gone.code).not.toBe(0);
    expect(gone.output).toContain("can't find web");
    expect((await probe('front', 'nslookup site')).output.match(new RegExp(`Address: ${subnetRe(1).source}`, 'g'))?.length).toBe(1);

    const inUse = await p.berth(['network', 'rm', 'front']);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain('has active endpoints (web2)');
  });
});

describe('published ports', () => {
  it('answer TCP and UDP on 127.0.0.1, and port shows them', async () => {
    const id = await run(['--name', 'pub', '--hostname', 'pub', '-p', '127.0.0.1::80', '-p', '127.0.0.1::5353/udp', 'busybox', ...httpd]);
    const ports = await p.berth(['port', 'pub']);
    expect(ports.stdout).toMatch(/^80\/tcp -> 127\.0\.0\.1:\d+\n5353\/udp -> 127\.0\.0\.1:\d+\n$/);
    const tcpPort = hostPort((await p.berth(['port', 'pub', '80'])).stdout);
    const udpPort = hostPort((await p.berth(['port', 'pub', '5353/udp'])).stdout);
    expect(await httpGet(tcpPort)).toContain('hello from pub');

    // busybox has no UDP server: a tiny echo server runs in the container's network namespace.
    const netns = await inspect(id, '{{.NetworkSettings.SandboxKey}}');
    expect(netns).toMatch(/^\/run\/netns\/berth-/);
    const echo = spawn(
      'nsenter',
      [`--net=${netns}`, process.execPath, '-e', "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send('pong '+m,r.port,r.address));s.bind(5353)"],
      { stdio: 'ignore' },
    );
    helpers.push(echo);
    let answer = '';
    for (let i = 0; i < 20 && !answer; i++) answer = await udpRequest('127.0.0.1', udpPort, 'ping').then((reply) => reply.toString(), () => '');
    expect(answer).toBe('pong ping');

    const missing = await p.berth(['port', 'pub', '443']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("No public port '443/tcp' published for pub");
  });

  it('-p 80 picks a free port in 49153-65535, shown by port and ps; a taken port is an error', async () => {
    await run(['--name', 'rnd', '-p', '80', '--expose', '443', 'busybox', ...httpd]);
    const line = (await p.berth(['port', 'rnd', '80/tcp'])).stdout.trim();
    expect(line).toMatch(/^0\.0\.0\.0:\d+$/);
    const port = hostPort(line);
    expect(port).toBeGreaterThanOrEqual(49153);
    expect(port).toBeLessThanOrEqual(65535);
    const ps = await p.berth(['ps', '--filter', 'name=rnd', '--format', '{{.Ports}}']);
    expect(ps.stdout.trim()).toBe(`0.0.0.0:${port}->80/tcp, 443/tcp`);
    expect(await httpGet(port)).toContain('hello from');

    // Held by another container.
    const clash = await p.berth(['run', '-d', '--name', 'clash', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '30']);
    expect(clash.code).toBe(125);
    expect(clash.stderr).toContain(`Bind for 127.0.0.1:${port} failed: port is already allocated`);
    ids.push((await inspect('clash', '{{.Id}}')) || 'clash');
    expect(await inspect('clash', '{{.State.Status}}')).toBe('created');

    // Held by a process of the host.
    const holder = createServer();
    servers.push(holder);
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const held = (holder.address() as { port: number }).port;
    const busy = await p.berth(['run', '--rm', '-p', `${held}:80`, 'busybox', 'true']);
    expect(busy.code).toBe(125);
    expect(busy.stderr).toContain(`Bind for 0.0.0.0:${held} failed: port is already allocated`);
  });
});

describe('agent restarts and cleanup', () => {
  it('keeps networking across an agent kill without duplicate rules', async () => {
    await createNetwork('survive', 3);
    await run(['--name', 'kept', '--hostname', 'kept', '--network', 'survive', '--network-alias', 'kept-site', '-p', '127.0.0.1::80', 'busybox', ...httpd]);
    const port = hostPort((await p.berth(['port', 'kept', '80'])).stdout);
    expect(await httpGet(port)).toContain('hello from kept');
    const agentPid = Number(readFileSync(join(p.settings.runRoot, 'platform', 'runtime-agent.pid'), 'utf8'));
    signalProcess(agentPid, 'SIGKILL');
    await waitForProcessExit(agentPid);
    await platformUp({ dataRoot: p.dataRoot });
    expect(await httpGet(port)).toContain('hello from kept');
    const rules = spawnSync('iptables-save', { encoding: 'utf8' }).stdout.split('\n');
    expect(rules.filter((l) => l.includes(`--dport ${port} `) && l.includes('DNAT'))).toHaveLength(1);
    // DNS is served again by the new agent.
    expect((await probe('survive', fetchFrom('kept-site'))).output).toContain('hello from kept');
  });

  it('leaves no interfaces, rules or namespaces behind once containers and networks are gone', async () => {
    // Its own network, container and published port, plus whatever the other tests left running.
    await createNetwork('tidy', 4);
    await run(['--name', 'tidy-web', '--network', 'tidy', '-p', '127.0.0.1::80', 'busybox', ...httpd]);
    const subnets = [...networks.values()];
    const live = (await p.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n').filter((n) => networks.has(n));
    const networkId = async (name: string) => (await p.berth(['network', 'inspect', '--format', '{{.Id}}', name])).stdout.trim();
    const bridgeIds = (await Promise.all(live.map(networkId))).map((id) => `br-${id.slice(0, 12)}`);
    expect(bridgeIds[0]).toMatch(/^br-[0-9a-f]{12}$/);
    const all = (await p.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
    const ips = await Promise.all(all.map((id) => inspect(id, '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}')));
    expect(ips.join(' ')).toMatch(subnetRe(4));
    expect((await p.berth(['rm', '-f', ...all])).code).toBe(0);
    expect((await p.berth(['network', 'rm', ...live])).code).toBe(0);

    const links = JSON.parse(spawnSync('ip', ['-j', '-d', 'link', 'show'], { encoding: 'utf8' }).stdout) as Array<{ ifname: string; ifalias?: string }>;
    const shortIds = [...ids, ...all].map((id) => id.slice(0, 12));
    expect(links.filter((l) => bridgeIds.includes(l.ifname) || shortIds.some((s) => l.ifalias?.includes(s)))).toEqual([]);
    const rules = spawnSync('iptables-save', { encoding: 'utf8' }).stdout.split('\n');
    const addresses = ips.join(' ').split(/\s+/).filter(Boolean);
    expect(rules.filter((l) => subnets.some((s) => l.includes(s)) || addresses.some((a) => l.includes(`${a}/32`) || l.includes(`${a}:`)))).toEqual([]);
    const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    for (const s of shortIds) expect(namespaces).not.toContain(s);
  });
});
