/**
 * Overlay networks on one host, end to end through the real CLI, gateway (VNI claimed in NATS KV),
 * agent (endpoints published in the `overlay` bucket under an agent's NATS permissions) and kernel:
 * the bridge and vxlan device with the overlay MTU, DNS by name, a published port, and nothing left
 * after `network rm`. Across hosts: test/cluster-overlay.e2e.test.ts. Traffic stays on 10.215.x.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGet, startBusyboxPlatform, type TestPlatform } from '@berth/testing';

let p: TestPlatform;
const ids: string[] = [];

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(async () => {
  await p?.berth(['rm', '-f', ...ids]).catch(() => {}); // removed by a test already, or the platform is down: stop() sweeps
  await p?.berth(['network', 'rm', 'ov1', 'ov2']).catch(() => {}); // the same
  await p?.stop();
});

interface Link {
  ifname: string;
  mtu: number;
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; port?: number; link?: string; learning?: boolean; proxy?: boolean } };
}

function link(name: string): Link | undefined {
  try {
    return (JSON.parse(execFileSync('ip', ['-j', '-d', 'link', 'show', 'dev', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as Link[])[0];
  } catch {
    return undefined; // no such link
  }
}

describe('an overlay network on one host', () => {
  let id = '';

  it('is created with driver overlay, scope swarm, a VNI from 4096, and a vxlan device 50 below the underlay MTU', async () => {
    const create = await p.berth(['network', 'create', '-d', 'overlay', '--subnet', '10.215.0.0/24', 'ov1']);
    expect(create.code, create.stderr).toBe(0);
    id = create.stdout.trim();
    const inspect = await p.berth(['network', 'inspect', '--format', '{{.Driver}} {{.Scope}} {{index .Options "com.docker.network.driver.overlay.vxlanid_list"}} {{(index .IPAM.Config 0).Subnet}}', 'ov1']);
    expect(inspect.stdout.trim()).toBe('overlay swarm 4096 10.215.0.0/24');
    const vxlan = link(`vx-${id.slice(0, 12)}`);
    expect(vxlan?.linkinfo).toMatchObject({ info_kind: 'vxlan', info_data: { id: 4096, port: 4789, learning: false, proxy: true } });
    const underlay = link(vxlan!.linkinfo!.info_data!.link!);
    expect(vxlan!.mtu).toBe(underlay!.mtu - 50);
    expect(vxlan!.master).toBe(`ov-${id.slice(0, 12)}`);
    expect(link(`ov-${id.slice(0, 12)}`)?.mtu).toBe(vxlan!.mtu);
  });

  it('gives containers the overlay MTU, DNS by name, and ports published on the host', async () => {
    const web = await p.berth(['run', '-d', '--name', 'ovweb', '--network', 'ov1', '-p', '127.0.0.1::80', 'busybox', 'sh', '-c', 'mkdir -p /www && echo hello-overlay > /www/index.html && exec httpd -f -p 80 -h /www']);
    expect(web.code, web.stderr).toBe(0);
    ids.push(web.stdout.trim());
    const mtu = link(`vx-${id.slice(0, 12)}`)!.mtu;
    const script = `cat /sys/class/net/eth0/mtu; for i in $(seq 1 30); do out=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ovweb 80) && [ -n "$out" ] && break; sleep 0.3; done; echo "$out" | tail -1`;
    const probe = await p.berth(['run', '--rm', '--network', 'ov1', 'busybox', 'sh', '-c', script]);
    expect(probe.code, probe.stderr).toBe(0);
    expect(probe.stdout.trim().split('\n')).toEqual([String(mtu), 'hello-overlay']);
    const port = (await p.berth(['port', 'ovweb', '80'])).stdout.trim().split(':').pop();
    expect((await httpGet(Number(port))).trim().split('\n').pop()).toBe('hello-overlay');
  }, 60_000);

  it('is removed with its vxlan device and bridge once unused, and its VNI is free again', async () => {
    const busy = await p.berth(['network', 'rm', 'ov1']);
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toContain(`error while removing network: network ov1 id ${id} has active endpoints (ovweb on `);
    expect(link(`vx-${id.slice(0, 12)}`)).toBeDefined();
    expect((await p.berth(['rm', '-f', 'ovweb'])).code).toBe(0);
    const rm = await p.berth(['network', 'rm', 'ov1']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(link(`vx-${id.slice(0, 12)}`)).toBeUndefined();
    expect(link(`ov-${id.slice(0, 12)}`)).toBeUndefined();
    const again = await p.berth(['network', 'create', '-d', 'overlay', '--subnet', '10.215.0.0/24', 'ov1']);
    expect(again.code, again.stderr).toBe(0);
    expect((await p.berth(['network', 'inspect', '--format', '{{index .Options "com.docker.network.driver.overlay.vxlanid_list"}}', 'ov1'])).stdout.trim()).toBe('4096');
    // Without --subnet: a free /24 of 10.0.0.0/16, and the next VNI.
    const pooled = await p.berth(['network', 'create', '-d', 'overlay', 'ov2']);
    expect(pooled.code, pooled.stderr).toBe(0);
    const ov2 = await p.berth(['network', 'inspect', '--format', '{{(index .IPAM.Config 0).Subnet}} {{index .Options "com.docker.network.driver.overlay.vxlanid_list"}}', 'ov2']);
    expect(ov2.stdout.trim()).toMatch(/^10\.0\.\d+\.0\/24 4097$/);
    expect((await p.berth(['network', 'rm', 'ov2'])).code).toBe(0);
  });
});
