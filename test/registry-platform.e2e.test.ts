/**
 * End to end: `berth platform up` runs the registry (loopback HTTP, admin API on a unix socket,
 * announced on NATS), `berth platform status` lists it, and `berth registry ls|df|gc` reach its
 * admin API through the gateway. Images are pushed with plain HTTP requests to keep this short,
 * with the platform's credentials (pushes and deletes need them; pulls do not).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, type TestPlatform } from '@berth/testing';

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

async function pushSmallImage(name: string, tag: string, layer: string): Promise<string> {
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
  for (const blob of [config, layer]) {
    const res = await fetch(`${registry}/v2/${name}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: blob, headers: auth });
    expect(res.status).toBe(201);
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
  });
  const res = await fetch(`${registry}/v2/${name}/manifests/${tag}`, {
    method: 'PUT',
    body: manifest,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json', ...auth },
  });
  expect(res.status).toBe(201);
  return sha256(manifest);
}

describe('the platform registry', () => {
  it('is started by `berth platform up` and healthy in `berth platform status`', async () => {
    const status = await p.berth(['platform', 'status', '--data-root', p.dataRoot]);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^registry\s+\d+\s+healthy\s+/m);
    expect((await fetch(`${registry}/v2/`)).status).toBe(200);
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

    const events = await p.berth(['events', '--since', '5m', '--until', '0s', '--filter', 'type=image']);
    expect(events.stdout).toContain('image push team/web:v1');
  });
});
