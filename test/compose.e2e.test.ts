/**
 * End to end through the real CLI, gateway and agent: `berth compose` on a three-service busybox
 * app (test/fixtures/compose-app): `up -d --wait` with health-gated start order, reaching services
 * by name, ps, logs, exec, run --rm, scale up and down, an environment change recreating only its
 * service, `down -v` leaving nothing behind, and a broken file changing nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@berth/platform';
import { startBusyboxPlatform, type TestPlatform } from '@berth/testing';

const file = join(REPO_ROOT, 'test/fixtures/compose-app/compose.yaml');
const project = 'ce2e';
let p: TestPlatform;
/** Every container id seen, for the netns check at the end. */
const seen = new Set<string>();

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(async () => {
  await p?.berth(['compose', '-f', file, '-p', project, 'down', '-v', '-t', '1']).catch(() => undefined);
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
