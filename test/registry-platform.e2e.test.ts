/**
 * End to end: `berth platform up` runs the registry (loopback HTTP, admin API on a unix socket,
 * announced on NATS), `berth platform status` and `berth info` print its address, `berth registry
 * ls|df|gc|rm` reach its admin API through the gateway, and `berth.localhost/…` names it in push,
 * pull and run. Images are pushed with plain HTTP requests to keep this short, with the platform's
 * credentials (pushes and deletes need them; pulls do not). The platform registry's port is random
 * here (other platforms run beside this one); the 5000-else-next choice is loopback-ports.test.ts's.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, untilNow, type TestPlatform } from '@berth/testing';

let p: TestPlatform;
let registry: string;
let auth: { authorization: string };

beforeAll(async () => {
  p = await startTestPlatform();
  registry = `http://127.0.0.1:${p.settings.registryPort}`;
  auth = { authorization: `Basic ${Buffer.from(`${p.registryAuth.username}:${p.registryAuth.password}`).toString('base64')}` };
}, 180_000);

afterAll(async () => {
  await p?.stop();
});

const sha256 = (data: string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const configJson = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
const manifestJson = (layer: string) =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(configJson), size: configJson.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
  });
const sha256Manifest = (layer: string) => sha256(manifestJson(layer));

async function pushSmallImage(name: string, tag: string, layer: string): Promise<string> {
  for (const blob of [configJson, layer]) {
    const res = await fetch(`${registry}/v2/${name}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob, headers: auth });
    expect(res.status).toBe(201);
  }
  const manifest = manifestJson(layer);
  const res = await fetch(`${registry}/v2/${name}/manifests/${tag}`, {
    method: 'PUT',
    body: manifest,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json', ...auth },
  });
  expect(res.status).toBe(201);
  return sha256(manifest);
}

describe('the platform registry', () => {
  it('is started by `berth platform up`, healthy in `berth platform status`, whose last line and `berth info` give its address', async () => {
    const status = await p.berth(['platform', 'status', '--data-root', p.dataRoot]);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^registry\s+\d+\s+healthy\s+/m);
    expect(status.stdout.trimEnd().split('\n').at(-1)).toBe(`Registry: 127.0.0.1:${p.settings.registryPort}`);
    expect((await fetch(`${registry}/v2/`)).status).toBe(200);
    const info = await p.berth(['info']);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(new RegExp(`^ Berth Root Dir: .*\n Registry: 127\\.0\\.0\\.1:${p.settings.registryPort}$`, 'm'));
    const formatted = await p.berth(['info', '--format', '{{.PlatformRegistry}}']);
    expect(formatted.stdout).toBe(`127.0.0.1:${p.settings.registryPort}\n`);
    // `up` again changes nothing, and says where the registry is.
    const up = await p.berth(['platform', 'up', '--data-root', p.dataRoot]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain(`\nRegistry: 127.0.0.1:${p.settings.registryPort}\n`);
  });

  it('`platform up --registry-port` refuses a port in use before starting anything, and a non-port', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    const root = await mkdtemp(join(tmpdir(), 'berth-port-'));
    try {
      const up = await p.berth(['platform', 'up', '--data-root', root, '--registry-port', String(port)]);
      expect(up.code).toBe(1);
      expect(up.stderr).toBe(
        `Error: Cannot start the registry: port ${port} of 127.0.0.1 is in use by another program: stop it, or move the registry with "berth platform up --registry-port PORT"\n`,
      );
      expect(existsSync(join(root, 'platform.json'))).toBe(false);
      expect(existsSync(join(root, 'run', 'platform'))).toBe(false);
      const bad = await p.berth(['platform', 'up', '--data-root', root, '--registry-port', '70000']);
      expect(bad.stderr).toBe('Error: Invalid --registry-port "70000": expected a port number from 1 to 65535\n');
    } finally {
      busy.close();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('lists, measures and garbage-collects through `berth registry`', async () => {
    const web = await pushSmallImage('team/web', 'v1', 'web layer');
    await pushSmallImage('team/web', 'v2', 'web layer 2');

    const ls = await p.berth(['registry', 'ls']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout.split('\n')[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST$/);
    expect(ls.stdout).toMatch(new RegExp(`^team/web\\s+v1\\s+${web}$`, 'm'));
    expect(ls.stdout).toMatch(/^team\/web\s+v2\s+sha256:/m);

    const df = await p.berth(['registry', 'df']);
    expect(df.code, df.stderr).toBe(0);
    // 2 manifests, 1 shared config, 2 layers
    expect(df.stdout).toMatch(/^team\/web\s+2\s+2\s+5\s+\d+B\s*$/m);
    expect(df.stdout).toMatch(/^Total: 5 blobs, \d+B$/m);

    expect((await fetch(`${registry}/v2/team/web/manifests/${web}`, { method: 'DELETE', headers: auth })).status).toBe(202);
    const dry = await p.berth(['registry', 'gc', '--dry-run', '--grace', '0']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`Would delete blob: ${web} (`);
    expect(dry.stdout).toContain(`Would delete blob: ${sha256('web layer')} (9B)`);
    const gc = await p.berth(['registry', 'gc', '--grace', '0']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toContain(`Deleted blob: ${sha256('web layer')} (9B)`);
    expect(gc.stdout).toMatch(/^Total reclaimed space: \d+B$/m);
    expect((await fetch(`${registry}/v2/team/web/blobs/${sha256('web layer')}`, { method: 'HEAD' })).status).toBe(404);

    const events = await p.berth(['events', '--since', '5m', '--until', untilNow(), '--filter', 'type=image']);
    expect(events.stdout).toContain('image push team/web:v1');
  });

  it('removes a tag, a manifest by digest, and a whole repository with `berth registry rm`', async () => {
    const v1 = await pushSmallImage('team/rm', 'v1', 'rm layer 1');
    await pushSmallImage('team/rm', 'v2', 'rm layer 2');
    await pushSmallImage('team/rm', 'v3', 'rm layer 2'); // same manifest as v2
    const v2 = sha256Manifest('rm layer 2');
    await pushSmallImage('team/other', 'latest', 'other layer');

    let rm = await p.berth(['registry', 'rm', 'team/rm:v1']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toBe('Untagged: team/rm:v1\n');
    expect((await fetch(`${registry}/v2/team/rm/manifests/v1`, { method: 'HEAD' })).status).toBe(404);
    expect((await fetch(`${registry}/v2/team/rm/manifests/${v1}`, { method: 'HEAD' })).status).toBe(200);

    rm = await p.berth(['registry', 'rm', `team/rm@${v2}`]);
    expect(rm.stdout).toBe(`Untagged: team/rm:v2\nUntagged: team/rm:v3\nDeleted: team/rm@${v2}\n`);

    rm = await p.berth(['registry', 'rm', 'team/rm', 'team/nope:v1', '127.0.0.1:5000/team/other']);
    expect(rm.code).toBe(1);
    expect(rm.stdout).toBe(`Deleted: team/rm@${v1}\nDeleted: team/rm\n`);
    expect(rm.stderr).toBe(
      [
        'Error response from daemon: Manifest "v1" is unknown in repository "team/nope"',
        'Error response from daemon: Invalid repository "127.0.0.1:5000/team/other": give it as "berth registry ls" prints it, without the registry host "127.0.0.1:5000" (e.g. "team/other")',
        '',
      ].join('\n'),
    );
    const ls = await p.berth(['registry', 'ls']);
    expect(ls.stdout).not.toContain('team/rm');
    expect(ls.stdout).toMatch(/^team\/other\s+latest\s+sha256:/m);
  });

  it('takes `berth.localhost/…` as the platform registry in push, pull and run', async () => {
    expect((await p.berth(['image', 'bootstrap', 'busybox'])).code).toBe(0);
    expect((await p.berth(['tag', 'busybox', 'berth.localhost/short/bb:1'])).code).toBe(0);
    const push = await p.berth(['push', 'berth.localhost/short/bb:1']);
    expect(push.code, push.stdout + push.stderr).toBe(0);
    expect(push.stdout).toMatch(/^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    // It is in the platform registry, under its own name.
    expect((await fetch(`${registry}/v2/short/bb/manifests/1`, { method: 'HEAD' })).status).toBe(200);
    expect((await p.berth(['rmi', 'berth.localhost/short/bb:1'])).code).toBe(0);
    const pull = await p.berth(['pull', 'berth.localhost/short/bb:1']);
    expect(pull.code, pull.stdout + pull.stderr).toBe(0);
    expect(pull.stdout.trimEnd().split('\n').at(-1)).toBe('berth.localhost/short/bb:1');
    const run = await p.berth(['run', '--rm', 'berth.localhost/short/bb:1', 'echo', 'hello from the short name']);
    expect(run.stdout).toBe('hello from the short name\n');
    // A name under it that is not there is the registry's 404, not a DNS lookup.
    const missing = await p.berth(['pull', 'berth.localhost/short/nope:1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'Error response from daemon: manifest for berth.localhost/short/nope:1 not found: name unknown: Repository "short/nope" is unknown to this registry\n',
    );
  });
});
