/**
 * End to end through the real CLI, gateway and agent: `berth compose` on a three-service busybox
 * app (test/fixtures/compose-app): `up -d --wait` with health-gated start order, reaching services
 * by name, ps, logs, exec, run --rm, scale up and down, an environment change recreating only its
 * service, `down -v` leaving nothing behind, and a broken file changing nothing. Then a second
 * project (test/fixtures/compose-options): service options reaching the container, link aliases,
 * secrets and configs (modes, owners, never leaked) and `compose cp`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@berth/platform';
import { startBusyboxPlatform, type TestPlatform } from '@berth/testing';

const file = join(REPO_ROOT, 'test/fixtures/compose-app/compose.yaml');
const project = 'ce2e';
const optionsFile = join(REPO_ROOT, 'test/fixtures/compose-options/compose.yaml');
let p: TestPlatform;
/** Every container id seen, for the netns check at the end. */
const seen = new Set<string>();

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(async () => {
  await p?.berth(['compose', '-f', file, '-p', project, 'down', '-v', '-t', '1']).catch(() => undefined);
  await p?.berth(['compose', '-f', optionsFile, '-p', 'ce2eopt', 'down', '-t', '0']).catch(() => undefined);
  await p?.stop();
});

function compose(args: string[], env: Record<string, string> = {}) {
  return p.berth(['compose', '-f', file, '-p', project, ...args], { env, timeoutMs: 120_000 });
}

async function ids(): Promise<Map<string, string>> {
  const r = await compose(['ps', '-a', '--format', '{{.Name}} {{.ID}}', '--no-trunc']);
  expect(r.code, r.stderr).toBe(0);
  const out = new Map<string, string>();
  for (const line of r.stdout.trim().split('\n').filter(Boolean)) {
    const [name, id] = line.split(' ') as [string, string];
    out.set(name, id);
    seen.add(id);
  }
  return out;
}

/**
 * One HTTP/1.0 GET of `path` at host:port over a plain socket (busybox httpd's CGI answers are
 * not strict HTTP/1.1, which fetch refuses); resolves with the body.
 */
function httpGet(hostPort: string, path: string): Promise<string> {
  const [host, port] = hostPort.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host);
    let data = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no answer from ${hostPort}${path}`)));
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.0\r\n\r\n`));
    socket.on('data', (d) => (data += d));
    socket.on('end', () => resolve(data.split(/\r?\n\r?\n/).slice(1).join('\n\n').trim()));
    socket.on('error', reject);
  });
}

describe('berth compose on a three-service app', () => {
  it('brings the app up healthy, in health-gated order, and its services reach each other by name', async () => {
    const up = await compose(['up', '-d', '--wait']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain(' Network ce2e_back  Created');
    expect(up.stderr).toContain(' Volume ce2e_data  Created');
    expect(up.stderr).toContain(' Container ce2e-db-1  Healthy');
    // api started only once db was healthy (its first request to db worked).
    const logs = await compose(['logs', 'api']);
    expect(logs.stdout).toContain('api-1  | api: db was ready');
    const ps = await compose(['ps']);
    expect(ps.stdout.split('\n')[0]).toMatch(/^NAME\s+IMAGE\s+COMMAND\s+SERVICE\s+CREATED\s+STATUS\s+PORTS$/);
    expect(ps.stdout).toMatch(/ce2e-db-1 .* db .* Up .*\(healthy\)/);
    expect(ps.stdout).toMatch(/ce2e-api-1 .* api .* Up .*\(healthy\)/);
    const port = (await compose(['port', 'web', '80'])).stdout.trim();
    expect(port).toMatch(/^127\.0\.0\.1:\d+$/);
    // web → api → db, each by service name on the networks they share.
    expect(await httpGet(port, '/cgi-bin/index')).toBe('hello from api, db says stored-in-db');
    await ids();
  });

  it('execs in a service container and runs one-off containers that go away with --rm', async () => {
    const exec = await compose(['exec', '-T', 'api', 'wget', '-q', '-O-', 'http://db/data']);
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout.trim()).toBe('stored-in-db');
    const failing = await compose(['exec', '-T', 'api', 'sh', '-c', 'exit 7']);
    expect(failing.code).toBe(7);
    const run = await compose(['run', '--rm', '--no-deps', 'db', 'cat', '/data/value']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('stored-in-db');
    const all = await compose(['ps', '-a', '--format', '{{.Name}}']);
    expect(all.stdout.trim().split('\n').sort()).toEqual(['ce2e-api-1', 'ce2e-db-1', 'ce2e-web-1']);
  });

  it('scales a service up and down', async () => {
    const up = await compose(['up', '-d', '--wait', '--scale', 'api=3']);
    expect(up.code, up.stderr).toBe(0);
    const names = [...(await ids()).keys()].filter((n) => n.includes('-api-')).sort();
    expect(names).toEqual(['ce2e-api-1', 'ce2e-api-2', 'ce2e-api-3']);
    const down = await compose(['up', '-d', '--scale', 'api=1']);
    expect(down.code, down.stderr).toBe(0);
    expect([...(await ids()).keys()].filter((n) => n.includes('-api-'))).toEqual(['ce2e-api-1']);
  });

  it('recreates only the service whose environment changed', async () => {
    const before = await ids();
    const again = await compose(['up', '-d']);
    expect(again.code, again.stderr).toBe(0);
    expect(await ids()).toEqual(before);
    const changed = await compose(['up', '-d', '--wait'], { GREETING: 'bye' });
    expect(changed.code, changed.stderr).toBe(0);
    const after = await ids();
    expect(after.get('ce2e-db-1')).toBe(before.get('ce2e-db-1'));
    expect(after.get('ce2e-web-1')).toBe(before.get('ce2e-web-1'));
    expect(after.get('ce2e-api-1')).not.toBe(before.get('ce2e-api-1'));
    const port = (await compose(['port', 'web', '80'])).stdout.trim();
    expect(await httpGet(port, '/cgi-bin/index')).toBe('bye from api, db says stored-in-db');
  });

  it('down -v leaves no container, network, volume or network namespace', async () => {
    await ids();
    const down = await compose(['down', '-v', '-t', '1']);
    expect(down.code, down.stderr).toBe(0);
    expect((await p.berth(['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${project}`])).stdout.trim()).toBe('');
    expect((await p.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout).not.toContain('ce2e_');
    expect((await p.berth(['volume', 'ls', '--format', '{{.Name}}'])).stdout).not.toContain('ce2e_');
    const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    for (const id of seen) expect(netns).not.toContain(id.slice(0, 12));
  });

  it('changes nothing when the file is broken, and says where', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-compose-broken-'));
    try {
      const broken = join(dir, 'compose.yaml');
      writeFileSync(broken, 'services:\n  web:\n    image: busybox\n    ports: ["80:abc"]\n  db:\n    image: busybox\nvolumes: {v: {}}\n');
      const r = await p.berth(['compose', '-f', broken, '-p', 'broken', 'up', '-d'], { timeoutMs: 60_000 });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('services.web.ports[0]');
      expect(r.stderr).toContain('compose.yaml');
      expect((await p.berth(['ps', '-a', '-q', '--filter', 'label=com.docker.compose.project=broken'])).stdout.trim()).toBe('');
      expect((await p.berth(['network', 'ls', '--format', '{{.Name}}'])).stdout).not.toContain('broken_');
      expect((await p.berth(['volume', 'ls', '--format', '{{.Name}}'])).stdout).not.toContain('broken_');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('berth compose: service options, links, secrets, configs and cp', () => {
  const token = `ce2e-token-${Date.now()}`;
  const since = new Date().toISOString();
  const opt = (args: string[]) => p.berth(['compose', '-f', optionsFile, '-p', 'ce2eopt', ...args], { env: { CE2E_TOKEN: token }, timeoutMs: 120_000 });
  const sh = async (service: string, script: string) => {
    const r = await opt(['exec', '-T', service, 'sh', '-c', script]);
    expect(r.code, `${script}: ${r.stderr}`).toBe(0);
    return r.stdout.trim();
  };

  it('passes the service options on to the container', async () => {
    const up = await opt(['up', '-d', '--wait']);
    expect(up.code, up.stderr).toBe(0);
    const inspect = async () => JSON.parse((await p.berth(['inspect', 'ce2eopt-app-1'])).stdout) as Array<{ Id: string; Config: Record<string, unknown>; HostConfig: Record<string, unknown> }>;
    const [c] = await inspect();
    expect(c!.Config).toMatchObject({ User: '0:0', WorkingDir: '/srv', Entrypoint: ['/bin/sh', '-c'], Cmd: ['exec sleep 3600'], StopSignal: 'SIGKILL', StopTimeout: 3 });
    expect(c!.Config.Labels).toMatchObject({ tier: 'backend', 'com.docker.compose.service': 'app' });
    expect(c!.Config.Healthcheck).toMatchObject({ Test: ['CMD', 'true'], Interval: 1e9 });
    expect(c!.HostConfig).toMatchObject({
      Init: true,
      ShmSize: 8 * 1024 * 1024,
      Sysctls: { 'net.core.somaxconn': '511' },
      Ulimits: [{ Name: 'nofile', Soft: 1234, Hard: 2345 }],
      CapAdd: ['NET_ADMIN'],
      CapDrop: ['MKNOD'],
      SecurityOpt: ['no-new-privileges'],
      Tmpfs: { '/scratch': '' },
      ExtraHosts: ['gateway.test=10.9.8.7'],
      Dns: ['10.9.8.6'],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m' } },
    });
    // …and the kernel sees them. The ulimit is read from the container's own process (pid 1, the init):
    // an exec's soft nofile limit is racy under runc 1.1.5 (see docs/dev/containers.md, "Known runc limits").
    const seen = await sh('app', "grep 'Max open files' /proc/1/limits; cat /proc/sys/net/core/somaxconn; pwd; grep gateway.test /etc/hosts");
    expect(seen).toMatch(/^Max open files\s+1234\s+2345\s+files\s*\n511\n\/srv\n10\.9\.8\.7\s+gateway\.test$/);
    // The compose watcher left the container as `up` made it (no recreate from the declared state).
    expect((await inspect())[0]!.Id).toBe(c!.Id);
  });

  it('resolves a link alias for the linking container only', async () => {
    const dbIp = await sh('db', "ip -4 -o addr show eth0 | sed 's/.*inet \\([0-9.]*\\).*/\\1/'");
    expect(await sh('app', 'nslookup database 2>&1')).toContain(`Address: ${dbIp}`);
    const other = await opt(['exec', '-T', 'other', 'nslookup', 'database']);
    expect(other.code).not.toBe(0);
    const [c] = JSON.parse((await p.berth(['inspect', 'ce2eopt-app-1'])).stdout) as Array<{ NetworkSettings: { Networks: Record<string, { Links: string[] | null }> } }>;
    expect(c!.NetworkSettings.Networks['ce2eopt_default']!.Links).toEqual(['db:database']);
  });

  it('writes secrets and configs with their modes and owners, and the secret never leaks', async () => {
    expect(await sh('app', 'cat /run/secrets/token')).toBe(token);
    expect(await sh('app', "stat -c '%a %u:%g' /run/secrets/token /run/secrets/owned")).toBe('444 0:0\n400 1000:1000');
    expect(await sh('app', 'cat /inline /etc/site.conf')).toBe('debug=false\nlisten 8080');
    // A file config is a read-only bind of the file beside compose.yaml.
    const write = await opt(['exec', '-T', 'app', 'sh', '-c', 'echo x > /etc/site.conf']);
    expect(write.code).not.toBe(0);
    // Not in the services' logs, the events, the container's description or anything others can read.
    const logs = ['runtime-agent', 'api', 'compose-watcher'].map((s) => readFileSync(join(p.dataRoot, 'logs', `${s}.log`), 'latin1')).join('\n');
    expect(logs.includes(token)).toBe(false);
    const events = await p.berth(['events', '--since', since, '--until', new Date().toISOString(), '--format', '{{json .}}']);
    expect(events.stdout).toContain('ce2eopt-app-1');
    expect(events.stdout.includes(token)).toBe(false);
    expect((await p.berth(['inspect', 'ce2eopt-app-1'])).stdout.includes(token)).toBe(false);
    const holders = spawnSync('grep', ['-rlF', '--no-messages', token, p.dataRoot], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
    expect(holders.length).toBeGreaterThan(0); // the container's own files
    for (const file of holders) {
      const closed = ancestors(file, p.dataRoot).some((dir) => (statSync(dir).mode & 0o001) === 0);
      expect(closed, `${file} is reachable by other users`).toBe(true);
    }
    // The declaration the compose watcher keeps (NATS KV, under <data-root>/nats) says where the value comes from, never the value.
    expect(holders.filter((file) => file.startsWith(join(p.dataRoot, 'nats')))).toEqual([]);
  });

  it('copies files to every container of a service and from one by --index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-compose-cp-'));
    try {
      writeFileSync(join(dir, 'note.txt'), 'copied in\n');
      const scale = await opt(['up', '-d', '--scale', 'db=2']);
      expect(scale.code, scale.stderr).toBe(0);
      const to = await opt(['cp', join(dir, 'note.txt'), 'db:/tmp/note.txt']);
      expect(to.code, to.stderr).toBe(0);
      for (const index of ['1', '2']) expect((await opt(['exec', '-T', '--index', index, 'db', 'cat', '/tmp/note.txt'])).stdout).toBe('copied in\n');
      expect((await opt(['exec', '-T', '--index', '2', 'db', 'sh', '-c', 'echo second > /tmp/which'])).code).toBe(0);
      const from = await opt(['cp', '--index', '2', 'db:/tmp/which', join(dir, 'which')]);
      expect(from.code, from.stderr).toBe(0);
      expect(readFileSync(join(dir, 'which'), 'utf8')).toBe('second\n');
      const missing = await opt(['cp', 'nosuch:/x', dir]);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('no such service: nosuch');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** `file`'s directories from `root` down (both included). */
function ancestors(file: string, root: string): string[] {
  const out: string[] = [];
  for (let dir = dirname(file); dir.startsWith(root); dir = dirname(dir)) out.push(dir);
  return out;
}
