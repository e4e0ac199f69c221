import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@berth/errors';
import { BuildHarness, tarStream } from './test-support.js';

/**
 * The build options beyond the core: --squash, --no-cache-filter, --output, RUN cache mounts and
 * COPY --link, on real builds (busybox bootstrapped into a temporary data root, RUN in runc).
 */

let h: BuildHarness;
let scratch: string;

beforeAll(async () => {
  h = await BuildHarness.open();
  scratch = mkdtempSync(join(tmpdir(), 'berth-builder-features-'));
});

afterAll(async () => {
  await h?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Builds `dir` with `--output type`, returning the streamed bytes. */
async function buildOutput(dir: string, type: 'oci' | 'tar' | 'local', tags: string[] = []): Promise<{ bytes: Buffer; imageId: string }> {
  const chunks: Buffer[] = [];
  const result = await h.builder.build({ context: tarStream(dir), output: type, tags }, { onOutput: async (c) => void chunks.push(Buffer.from(c)) });
  return { bytes: Buffer.concat(chunks), imageId: result.imageId };
}

/** The names in a tar (as `tar -t` lists them). */
function tarNames(bytes: Buffer): string[] {
  const file = join(scratch, `list-${Math.random().toString(16).slice(2)}.tar`);
  writeFileSync(file, bytes);
  return execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n');
}

describe('--squash', () => {
  it('squashes the layers of the build into one on the base layers, keeping the history', async () => {
    const dir = await h.context({
      Dockerfile: [
        'FROM busybox',
        'RUN echo one > /one && echo tmp > /tmp-file',
        'COPY data.txt /data.txt',
        'RUN rm /tmp-file /bin/vi && mkdir /made',
        'ENV SQUASHED=yes',
        'CMD ["cat", "/one"]',
        '',
      ].join('\n'),
      'data.txt': 'data\n',
    });
    const base = await h.images.resolve('busybox');
    const plain = await h.build(dir, { tags: ['squash:plain'] });
    const squashed = await h.build(dir, { tags: ['squash:yes'], squash: true });
    expect(squashed.imageId).not.toBe(plain.imageId);
    expect((await h.images.resolve('squash:plain')).manifest.layers).toHaveLength(base.manifest.layers.length + 3);

    const image = await h.images.resolve('squash:yes');
    expect(image.manifest.layers).toHaveLength(base.manifest.layers.length + 1);
    expect(image.config.rootfs.diff_ids.slice(0, -1)).toEqual(base.config.rootfs.diff_ids);
    const history = image.config.history!;
    const own = history.slice(base.config.history?.length ?? base.config.rootfs.diff_ids.length);
    expect(own.map((e) => [e.created_by, e.empty_layer])).toEqual([
      ['RUN /bin/sh -c echo one > /one && echo tmp > /tmp-file # buildkit', true],
      ['COPY data.txt /data.txt # buildkit', true],
      ['RUN /bin/sh -c rm /tmp-file /bin/vi && mkdir /made # buildkit', true],
      ['ENV SQUASHED=yes', true],
      ['CMD ["cat", "/one"]', true],
      [undefined, undefined],
    ]);
    expect(own.at(-1)!.comment).toMatch(new RegExp(`^merge sha256:[0-9a-f]{64} to ${base.id}$`));
    // Same files as without --squash: deletions of the base's files and of the build's own files.
    expect(await h.sh('squash:yes', 'cat /one /data.txt; ls -d /made; test -e /tmp-file || echo no-tmp; test -e /bin/vi || echo no-vi; echo $SQUASHED'))
      .toBe('one\ndata\n/made\nno-tmp\nno-vi\nyes\n');
    expect((await h.run('squash:yes')).output).toBe('one\n');

    // A squashed rebuild with nothing changed gives the same image.
    const again = await h.build(dir, { squash: true });
    expect(again.imageId).toBe(squashed.imageId);
  });
});

describe('parallel stages', () => {
  it('runs the RUN steps of stages that do not depend on each other at the same time', async () => {
    // Each RUN leaves a mark in a cache mount both share, then waits (30 s at most) for the other's:
    // run one after the other, the first would fail. A fresh cache id per run: no old marks.
    const id = `parallel-${Math.random().toString(16).slice(2)}`;
    const stage = (name: string, other: string) =>
      [
        `FROM busybox AS ${name}`,
        `RUN --mount=type=cache,id=${id},target=/shared date +%s%N > /start && touch /shared/${name} && ` +
          `i=0; while [ ! -e /shared/${other} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; test -e /shared/${other}`,
      ].join('\n');
    const dir = await h.context({
      Dockerfile: [stage('left', 'right'), stage('right', 'left'), 'FROM busybox', 'COPY --from=left /start /left-start', 'COPY --from=right /start /right-start', ''].join('\n'),
    });
    const result = await h.build(dir, { tags: ['parallel:1'], noCache: true });
    expect(result.executed).toBe(4);
    expect(await h.sh('parallel:1', 'ls /left-start /right-start')).toBe('/left-start\n/right-start\n');
  });
});

describe('--no-cache-filter', () => {
  it('rebuilds only the named stages', async () => {
    const dir = await h.context({
      Dockerfile: [
        'FROM busybox AS deps',
        'RUN cat /proc/sys/kernel/random/uuid > /deps',
        'FROM busybox AS app',
        'COPY --from=deps /deps /deps',
        'RUN cat /proc/sys/kernel/random/uuid > /app',
        '',
      ].join('\n'),
    });
    const first = await h.build(dir);
    expect(first.executed).toBe(3);
    const filtered = await h.build(dir, { noCacheFilter: ['app'] });
    // `app` runs again (COPY and RUN); `deps` comes from the cache.
    expect({ executed: filtered.executed, cached: filtered.cached }).toEqual({ executed: 2, cached: 1 });
    const deps = await h.build(dir, { noCacheFilter: ['deps'] });
    // The deps RUN reruns; its new /deps changes the COPY, so the app stage reruns too.
    expect(deps.executed).toBe(3);
  });
});

describe('RUN --mount=type=cache', () => {
  it('keeps the directory across builds and out of the image', async () => {
    const dir = await h.context({
      Dockerfile: [
        'FROM busybox',
        'WORKDIR /work',
        'RUN --mount=type=cache,target=/var/cache/app echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /runs',
        'RUN --mount=type=cache,id=shared,target=rel,uid=1000,mode=0700 stat -c "%u %a" rel > /owner',
        '',
      ].join('\n'),
    });
    await h.build(dir, { tags: ['cachemount:1'] });
    await h.build(dir, { tags: ['cachemount:2'], noCache: true });
    expect(await h.sh('cachemount:1', 'cat /runs')).toBe('1\n');
    expect(await h.sh('cachemount:2', 'cat /runs; cat /owner; test -e /var/cache || echo no-mountpoint; ls -A /work')).toBe('2\n1000 700\nno-mountpoint\n');
  });

  it('refuses an ssh mount, naming the line', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\nRUN --mount=type=ssh true\n' });
    const err = await h.build(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toBe(
      'Dockerfile:2: RUN --mount=type=ssh true: RUN --mount=type=ssh is not supported: Berth does not forward an SSH agent to builds (copy a deploy key with --secret instead)',
    );
  });
});

describe('COPY --link', () => {
  it('gives the same files as COPY', async () => {
    const dir = await h.context({
      Dockerfile: 'FROM busybox\nCOPY --link --chmod=600 a.txt /linked/\nCOPY a.txt /plain/\n',
      'a.txt': 'a\n',
    });
    await h.build(dir, { tags: ['link:1'] });
    expect(await h.sh('link:1', 'cat /linked/a.txt /plain/a.txt; stat -c %a /linked/a.txt')).toBe('a\na\n600\n');
  });
});

describe('--output', () => {
  it('streams an OCI layout, or the flattened root filesystem as a tar', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\nRUN echo hi > /hello && rm /bin/vi\n' });
    const oci = await buildOutput(dir, 'oci', ['out:oci']);
    const names = tarNames(oci.bytes);
    expect(names).toEqual(expect.arrayContaining(['oci-layout', 'index.json', 'manifest.json']));
    expect(names.some((n) => n.startsWith('blobs/sha256/'))).toBe(true);
    // The layout loads back as the same image.
    const loaded = await h.images.load((async function* () { yield oci.bytes; })());
    expect(loaded.map((l) => l.id)).toContain(oci.imageId);

    const tar = await buildOutput(dir, 'tar');
    const files = tarNames(tar.bytes);
    expect(files).toEqual(expect.arrayContaining(['hello', 'bin/sh', 'etc/passwd']));
    expect(files).not.toContain('bin/vi');
    expect(files.some((f) => f.includes('.wh.'))).toBe(false);

    const err = await h.builder.build({ context: tarStream(dir), output: 'tar' }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('Cannot export type=tar: nothing receives the output');
  });
});
