/**
 * Cross-host networking (issue 14) end to end: three test hosts, each a network namespace with its
 * own address on a test bridge (startTestCluster), each running its own agent. `compose up` puts one
 * service on each host (deploy.placement.constraints); the project's default network is an overlay
 * network (several nodes), so the services resolve each other by name and talk over VXLAN between
 * the hosts' namespaces; a published port answers on the address of the host that runs the
 * container; a stopped container drops out of the others' DNS. One cluster per file.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, tempDir, until, type TempDir, type TestCluster } from '@berth/testing';

let cluster: TestCluster;
let dir: TempDir;
const project = 'xhost';
const berth = (args: string[]) => cluster.berth(args, { timeoutMs: 120_000 });
const compose = (args: string[]) => berth(['compose', '-f', join(dir.path, 'compose.yaml'), '-p', project, ...args]);

const httpd = (text: string) => `["sh", "-c", "mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www"]`;
const on = (node: string) => `    deploy:\n      placement:\n        constraints: [node.hostname==${node}]\n`;

beforeAll(async () => {
  cluster = await startTestCluster(3, { busybox: true });
  dir = tempDir('berth-cluster-overlay-');
  writeFileSync(
    join(dir.path, 'compose.yaml'),
    `services:\n` +
      `  web:\n    image: busybox\n    command: ${httpd('hello-from-web')}\n    ports: ["18080:80"]\n${on('node-1')}` +
      `  api:\n    image: busybox\n    command: ${httpd('hello-from-api')}\n${on('node-2')}` +
      `  client:\n    image: busybox\n    command: ["sleep", "600"]\n${on('node-3')}`,
  );
}, 300_000);

afterAll(async () => {
  await compose(['down', '-t', '0']).catch(() => undefined); // the cluster may be gone already: stop() sweeps
  dir?.remove();
  await cluster?.stop();
}, 120_000);

/** GET / of `host:80` from inside `container` with busybox nc, retried while the server starts: the body's last line. */
async function fetchFrom(container: string, host: string): Promise<string> {
  const script = `for i in $(seq 1 30); do out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${host} 80) && [ -n "$out" ] && break; sleep 0.3; done; echo "$out" | tail -1`;
  const r = await berth(['exec', container, 'sh', '-c', script]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** One HTTP/1.0 GET to `address:port` from this (the root) namespace: the body's last line. */
function httpGetAt(address: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, address);
    let data = '';
    socket.setTimeout(3_000, () => socket.destroy(new Error(`no answer from ${address}:${port}`)));
    socket.on('connect', () => socket.write('GET / HTTP/1.0\r\n\r\n'));
    socket.on('data', (d) => (data += d));
    socket.on('end', () => resolve(data.trim().split('\n').pop() ?? ''));
    socket.on('error', reject);
  });
}

describe('a compose project spread over three hosts', () => {
  it('runs each service on its host, on one overlay network', async () => {
    const up = await compose(['up', '-d']);
    expect(up.code, up.stderr).toBe(0);
    const ps = await berth(['ps', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Names}} {{.Node}}']);
    expect(ps.stdout.trim().split('\n').sort()).toEqual([`${project}-api-1 node-2`, `${project}-client-1 node-3`, `${project}-web-1 node-1`]);
    const net = await berth(['network', 'inspect', '--format', '{{.Driver}} {{.Scope}}', `${project}_default`]);
    expect(net.stdout.trim()).toBe('overlay swarm');
  }, 180_000);

  it('resolves and reaches services on the other hosts by name, through VXLAN at the overlay MTU', async () => {
    expect(await fetchFrom(`${project}-client-1`, 'web')).toBe('hello-from-web'); // node-3 → node-1
    expect(await fetchFrom(`${project}-client-1`, 'api')).toBe('hello-from-api'); // node-3 → node-2
    expect(await fetchFrom(`${project}-web-1`, 'api')).toBe('hello-from-api'); // node-1 → node-2
    const clientIp = (await berth(['inspect', '--format', `{{(index .NetworkSettings.Networks "${project}_default").IPAddress}}`, `${project}-client-1`])).stdout.trim();
    const lookup = await berth(['exec', `${project}-api-1`, 'nslookup', 'client']);
    expect(lookup.stdout).toContain(clientIp);
    // The test hosts' links have MTU 1500: VXLAN takes 50.
    expect((await berth(['exec', `${project}-client-1`, 'cat', '/sys/class/net/eth0/mtu'])).stdout.trim()).toBe('1450');
    // A full-size frame crosses (1450 − 20 IP − 8 ICMP).
    const ping = await berth(['exec', `${project}-client-1`, 'ping', '-c', '1', '-W', '2', '-s', '1422', 'web']);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
  }, 120_000);

  it('answers a published port on the address of the host running the container', async () => {
    // Host 1's own address on the test bridge.
    const address = cluster.hosts[0]!.address;
    const body = await until(
      () => httpGetAt(address, 18080).catch(() => ''),
      (b) => b === 'hello-from-web',
    );
    expect(body).toBe('hello-from-web');
  }, 60_000);

  it('drops a stopped container from the other hosts’ DNS', async () => {
    expect((await berth(['stop', '-t', '0', `${project}-api-1`])).code).toBe(0);
    const gone = await until(
      () => berth(['exec', `${project}-client-1`, 'nslookup', 'api']),
      (r) => r.code !== 0,
      { timeoutMs: 20_000 },
    );
    expect(gone.code).not.toBe(0);
    expect((await berth(['start', `${project}-api-1`])).code).toBe(0);
    expect(await fetchFrom(`${project}-client-1`, 'api')).toBe('hello-from-api');
  }, 120_000);

  it('takes a dead host out of the others’ forwarding entries within the index TTL', async () => {
    const [, host2, host3] = cluster.hosts;
    const id = (await berth(['network', 'inspect', '--format', '{{.Id}}', `${project}_default`])).stdout.trim();
    const fdb = async () => execFileSync('bridge', ['-n', host3!.netns, 'fdb', 'show', 'dev', `vx-${id.slice(0, 12)}`], { encoding: 'utf8' });
    expect(await fdb()).toContain(`dst ${host2!.address} self permanent`);
    const killed = Date.now();
    host2!.kill();
    const after = await until(fdb, (entries) => !entries.includes(`dst ${host2!.address} `), { timeoutMs: 30_000 });
    expect(after).not.toContain(`dst ${host2!.address} `);
    // The bucket's TTL is 15 s; each watcher looks every second.
    expect(Date.now() - killed).toBeLessThan(20_000);
  }, 60_000);
});
