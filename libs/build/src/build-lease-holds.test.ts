import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '@berth/testing';
import { BuildHarness, tarStream } from './test-support.js';

/**
 * What a build stands on is held by its lease, so the host's own removals leave it: an `rmi` of
 * the base image in the middle of a build removes the image's record but neither its layer blobs
 * nor its snapshots, and the build ends with a complete image that runs.
 */

let h: BuildHarness;

beforeAll(async () => {
  h = await BuildHarness.open();
});

afterAll(async () => {
  await h?.close();
});

describe('a build and rmi side by side', () => {
  it('keeps the base image layers a running build uses when the base image is removed', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\nRUN echo started-run && sleep 1 && echo one > /one\nRUN cat /one > /two\n' });
    const lines: string[] = [];
    const building = h.builder.build({ context: tarStream(dir), tags: ['held:1'] }, { onProgress: (l) => lines.push(l) });
    building.catch(() => undefined); // awaited below; this only marks it handled while the rmi runs
    await waitUntil('the first RUN to start', () => lines.some((l) => / started-run$/.test(l)), { timeoutMs: 30_000, intervalMs: 20 });

    const busybox = await h.images.resolve('busybox');
    const layer = busybox.manifest.layers[0]!.digest;
    expect(await h.images.remove('busybox')).toEqual([{ Untagged: 'busybox:latest' }, { Deleted: busybox.id }]);
    expect(await h.content.has(layer)).toBe(true); // the build's lease holds it

    const result = await building;
    const built = await h.images.resolve('held:1');
    expect(built.id).toBe(result.imageId);
    expect(built.manifest.layers[0]!.digest).toBe(layer);
    expect((await h.run('held:1', ['cat', '/two'])).output).toBe('one\n');
    // The build's lease is gone; the blob stays because the built image references it.
    expect(await h.content.has(layer)).toBe(true);
  });
});
