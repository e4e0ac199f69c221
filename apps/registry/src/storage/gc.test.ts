import { readdir, utimes, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MediaType } from '@berth/oci';
import { pushBlob, pushImage, putManifest, startTestRegistry, type TestRegistry } from '../test-support.js';
import { garbageCollect } from './gc.js';
import { RegistryPaths } from './paths.js';

let reg: TestRegistry;
beforeEach(async () => {
  reg = await startTestRegistry({ deleteEnabled: true });
});
afterEach(async () => {
  await reg.close();
});

async function status(name: string, digest: string, kind: 'blobs' | 'manifests' = 'blobs'): Promise<number> {
  return (await reg.app.inject({ method: 'HEAD', url: `/v2/${name}/${kind}/${digest}` })).statusCode;
}

describe('garbageCollect', () => {
  it('removes blobs no manifest references, keeps everything a manifest needs, and honours dry-run', async () => {
    const keep = await pushImage(reg.app, 'lib/app', 'v1', { layers: ['shared', 'keep-only'] });
    const drop = await pushImage(reg.app, 'lib/app', 'v2', { layers: ['shared', 'drop-only'] });
    const orphan = await pushBlob(reg.app, 'lib/other', 'orphan');
    await reg.app.inject({ method: 'DELETE', url: `/v2/lib/app/manifests/${drop.digest}` });
    const gone = [drop.digest, drop.config, drop.layers[1], orphan].sort();

    const lines: string[] = [];
    const dry = await garbageCollect(reg.root, { dryRun: true, gracePeriodMs: 0, log: (l) => lines.push(l) });
    expect(dry.removedBlobs.map((b) => b.digest).sort()).toEqual(gone);
    expect(lines).toContain(`would remove blob ${orphan} (6 bytes)`);
    expect(await status('lib/other', orphan)).toBe(200); // dry run touched nothing

    const result = await garbageCollect(reg.root, { gracePeriodMs: 0 });
    expect(result.removedBlobs.map((b) => b.digest).sort()).toEqual(gone);
    expect(result.marked).toBe(4); // keep's manifest, config and two layers
    for (const d of [keep.config, ...keep.layers]) expect(await status('lib/app', d)).toBe(200);
    expect(await status('lib/app', keep.digest, 'manifests')).toBe(200);
    expect(await status('lib/other', orphan)).toBe(404);
    expect(await readdir(new RegistryPaths(reg.root).layersDir('lib/other', 'sha256'))).toEqual([]); // dangling links swept too
    // A second run finds nothing more.
    expect((await garbageCollect(reg.root, { gracePeriodMs: 0 })).removedBlobs).toEqual([]);
  });

  it('keeps the children of an index and their blobs even when only the index is left', async () => {
    const amd = await pushImage(reg.app, 'lib/multi', 'amd64', { layers: ['amd'] });
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [{ mediaType: MediaType.OciManifest, digest: amd.digest, size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } }],
    });
    expect((await putManifest(reg.app, 'lib/multi', 'latest', index, MediaType.OciIndex)).statusCode).toBe(201);
    await reg.app.inject({ method: 'DELETE', url: '/v2/lib/multi/manifests/amd64' }); // the tag only
    const result = await garbageCollect(reg.root, { gracePeriodMs: 0 });
    expect(result.removedBlobs).toEqual([]);
    expect(await status('lib/multi', amd.layers[0])).toBe(200);
  });

  it('never removes blobs or uploads younger than the grace period', async () => {
    const orphan = await pushBlob(reg.app, 'lib/app', 'fresh');
    const fresh = (await reg.app.inject({ method: 'POST', url: '/v2/lib/app/blobs/uploads/' })).headers['docker-upload-uuid'] as string;
    const stale = (await reg.app.inject({ method: 'POST', url: '/v2/lib/app/blobs/uploads/' })).headers['docker-upload-uuid'] as string;
    const paths = new RegistryPaths(reg.root);
    const old = new Date(Date.now() - 2 * 3600_000);
    await writeFile(paths.uploadStartedAt('lib/app', stale), old.toISOString());
    await utimes(paths.uploadData('lib/app', stale), old, old);

    const result = await garbageCollect(reg.root); // default grace: 1 h
    expect(result.removedBlobs).toEqual([]);
    expect(result.keptRecent).toEqual([orphan]);
    expect(result.removedUploads).toEqual([`lib/app/${stale}`]);
    expect((await reg.app.inject({ method: 'GET', url: `/v2/lib/app/blobs/uploads/${fresh}` })).statusCode).toBe(204);
    expect((await reg.app.inject({ method: 'GET', url: `/v2/lib/app/blobs/uploads/${stale}` })).statusCode).toBe(404);
  });
});
