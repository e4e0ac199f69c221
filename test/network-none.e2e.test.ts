/**
 * End to end through the real CLI, gateway and agent: `--network none`. The agent makes no netns
 * for it (runc makes the namespace and brings its loopback up, issue 11), so what a user sees must
 * be what the agent's own netns gave: loopback up and working, no other interface, inspect's
 * SandboxKey a handle of the container's namespace while it runs, and `--network container:<id>`
 * joining that namespace.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBusyboxPlatform, type TestPlatform } from '@berth/testing';

let p: TestPlatform;
const ids: string[] = [];

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(async () => {
  if (ids.length > 0) await p?.berth(['rm', '-f', ...ids]).catch(() => {}); // removed by a test already, or the platform is down: stop() removes it
  await p?.stop();
});

async function inspect(name: string, format: string): Promise<string> {
  const r = await p.berth(['inspect', '--format', format, name]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** The agent's named namespaces of container `id` (none expected for `--network none`). */
function namedNetnsOf(id: string): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => n.endsWith(id.slice(0, 12)));
  } catch {
    return []; // no /run/netns at all: no named namespace either
  }
}

describe('--network none', () => {
  it('has its loopback up and working, and no other interface', async () => {
    const script = [
      'ls /sys/class/net',
      'ip -o link show lo',
      'mkdir /www && echo hello-over-lo > /www/index.html',
      // httpd without -f binds, then goes to the background: the server answers once it returns.
      'httpd -p 127.0.0.1:8080 -h /www',
      'wget -qO- http://127.0.0.1:8080/',
    ].join(' && ');
    const r = await p.berth(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', script]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [interfaces, lo, reply] = r.stdout.split('\n');
    expect(interfaces).toBe('lo');
    expect(lo).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    expect(reply).toBe('hello-over-lo');
  });

  it('shows its namespace as SandboxKey while it runs, and a container:<id> container joins it', async () => {
    const server = 'mkdir /www && echo hello-from-quiet > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www';
    const run = await p.berth(['run', '-d', '--name', 'quiet', '--network', 'none', 'busybox', 'sh', '-c', server]);
    expect(run.code, run.stderr).toBe(0);
    const id = run.stdout.trim();
    ids.push(id);
    expect(namedNetnsOf(id)).toEqual([]);
    expect(await inspect('quiet', '{{.HostConfig.NetworkMode}}')).toBe('none');
    const pid = await inspect('quiet', '{{.State.Pid}}');
    const key = await inspect('quiet', '{{.NetworkSettings.SandboxKey}}');
    expect(key).toBe(`/proc/${pid}/ns/net`);
    expect(await inspect('quiet', '{{.NetworkSettings.SandboxID}}')).toBe(id);

    // The joiner is in the same namespace (the same inode) and reaches the server over 127.0.0.1.
    const fetch = 'readlink /proc/self/ns/net; for i in $(seq 1 30); do wget -qO- http://127.0.0.1:8080/ 2>/dev/null && exit 0; sleep 0.2; done; exit 1';
    const joined = await p.berth(['run', '--rm', '--network', 'container:quiet', 'busybox', 'sh', '-c', fetch]);
    expect(joined.code, joined.stderr).toBe(0);
    expect(joined.stdout).toBe(`${readlinkSync(key)}\nhello-from-quiet\n`);

    const stop = await p.berth(['stop', '-t', '1', 'quiet']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(await inspect('quiet', '{{.NetworkSettings.SandboxKey}}|{{.NetworkSettings.SandboxID}}')).toBe('|');
    expect(namedNetnsOf(id)).toEqual([]);
  });
});
