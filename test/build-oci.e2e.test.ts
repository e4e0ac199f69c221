/**
 * End to end: images built by `berth build` are valid OCI images. They are pushed to a real
 * registry (Berth's apps/registry on a random port), inspected and copied out by skopeo (an
 * independent client), and each layer's diff ID is checked against its uncompressed blob. Also
 * `--push`, a FROM image pulled from the registry (`--pull`), and the registry build cache
 * (`--cache-to` / `--cache-from`) reused after the local cache was pruned.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistryProcess, startTestPlatform, tempDir, type CliResult, type RegistryProcess, type TempDir, type TestPlatform } from '@berth/testing';

const exec = promisify(execFile);

let p: TestPlatform;
let dir: TempDir;
let registry: RegistryProcess;
let host: string;

const berth = (args: string[]): Promise<CliResult> => p.berth(args, { env: { DOCKER_CONFIG: join(dir.path, 'docker') }, timeoutMs: 120_000 });
const ok = (r: CliResult) => expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);

/** A build context directory with these files. */
function context(name: string, files: Record<string, string>): string {
  const path = join(dir.path, name);
  mkdirSync(path, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(path, file), text);
  return path;
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

let app: Promise<{ ref: string; pushed: CliResult }> | undefined;
/**
 * `<registry>/oci/app:1`, built from the `app` context and pushed, once for the file: the tests that
 * need it call this, so they pass in any order (and alone).
 */
function appImage(): Promise<{ ref: string; pushed: CliResult }> {
  app ??= (async () => {
    const ref = `${host}/oci/app:1`;
    const ctx = context('app', {
      Dockerfile: [
        'FROM busybox',
        'COPY hello.txt /srv/',
        'RUN echo built > /srv/built && rm /bin/vi',
        'WORKDIR /srv',
        'ENV MODE=oci',
        'CMD ["cat", "hello.txt", "built"]',
        '',
      ].join('\n'),
      'hello.txt': 'hello\n',
    });
    ok(await berth(['build', '-q', '-t', ref, ctx]));
    return { ref, pushed: await berth(['push', ref]) };
  })();
  return app;
}

beforeAll(async () => {
  dir = tempDir('berth-build-oci-e2e-');
  [p, registry] = await Promise.all([
    startTestPlatform(),
    startRegistryProcess(['--listen', '127.0.0.1:0', '--root', join(dir.path, 'registry'), '--log-level', 'silent']),
  ]);
  host = `127.0.0.1:${registry.port}`;
  ok(await berth(['image', 'bootstrap', 'busybox']));
}, 180_000);

afterAll(async () => {
  await p?.stop();
  await registry?.stop('SIGKILL');
  dir?.remove();
});

describe('a Berth-built image', () => {
  it('is a valid OCI image: skopeo inspects it and every diff ID is its uncompressed layer digest', async () => {
    const { ref, pushed } = await appImage();
    ok(pushed);
    const digest = /^1: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(pushed.stdout)?.[1];
    expect(digest, pushed.stdout).toBeDefined();

    const inspected = JSON.parse((await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`])).stdout) as {
      Digest: string;
      Layers: string[];
      Env: string[];
    };
    expect(inspected.Digest).toBe(digest);
    expect(inspected.Env).toContain('MODE=oci');

    // Copied out by skopeo into an OCI layout: the manifest, the config, and the blobs.
    const layout = join(dir.path, 'layout');
    await exec('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:1`]);
    const blob = (d: string) => readFileSync(join(layout, 'blobs', 'sha256', d.slice('sha256:'.length)));
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const manifestBytes = blob(index.manifests[0]!.digest);
    expect(sha256(manifestBytes)).toBe(digest);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
      mediaType: string;
      config: { mediaType: string; digest: string };
      layers: Array<{ mediaType: string; digest: string; size: number }>;
    };
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    const configBytes = blob(manifest.config.digest);
    expect(sha256(configBytes)).toBe(manifest.config.digest);
    const config = JSON.parse(configBytes.toString('utf8')) as {
      rootfs: { type: string; diff_ids: string[] };
      history: Array<{ empty_layer?: boolean }>;
    };
    const base = JSON.parse((await berth(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', 'busybox'])).stdout) as string[];
    // busybox's layers, then those of COPY and RUN (WORKDIR /srv adds none: COPY made it).
    expect(manifest.layers).toHaveLength(base.length + 2);
    expect(config.rootfs.type).toBe('layers');
    expect(config.rootfs.diff_ids).toHaveLength(manifest.layers.length);
    expect(config.rootfs.diff_ids.slice(0, base.length)).toEqual(base);
    expect(config.history.filter((h) => !h.empty_layer)).toHaveLength(manifest.layers.length);
    for (const [i, layer] of manifest.layers.entries()) {
      expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      const compressed = blob(layer.digest);
      expect(sha256(compressed)).toBe(layer.digest);
      expect(compressed.length).toBe(layer.size);
      expect(sha256(gunzipSync(compressed))).toBe(config.rootfs.diff_ids[i]);
    }
    expect(inspected.Layers).toEqual(manifest.layers.map((l) => l.digest));
  });

  it('--push pushes every tag, and FROM pulls a base image that is missing (or always, with --pull)', async () => {
    const { ref: base, pushed } = await appImage();
    ok(pushed);
    ok(await berth(['rmi', base]));
    const ctx = context('child', { Dockerfile: `FROM ${base}\nRUN echo child > /srv/child\n` });
    const tags = [`${host}/oci/child:1`, `${host}/oci/child:latest`];
    const res = await berth(['build', '--progress=plain', '--push', '-t', tags[0]!, '-t', tags[1]!, ctx]);
    ok(res);
    expect(res.stderr).toMatch(new RegExp(`^#\\d+ \\[internal\\] load metadata for ${base.replace(/\./g, '\\.')}$`, 'm'));
    expect(res.stderr).toMatch(/^#\d+ Status: Downloaded newer image for /m);
    for (const tag of tags) {
      const pushed = new RegExp(`^#\\d+ ${tag.split(':').at(-1)}: digest: (sha256:[0-9a-f]{64}) size: \\d+$`, 'm').exec(res.stderr);
      expect(pushed, res.stderr).not.toBeNull();
      const { stdout } = await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${tag}`]);
      expect((JSON.parse(stdout) as { Digest: string }).Digest).toBe(pushed![1]);
    }
    const run = await berth(['run', '--rm', tags[0]!, 'cat', '/srv/hello.txt', '/srv/child']);
    expect(run).toMatchObject({ code: 0, stdout: 'hello\nchild\n' });

    const again = await berth(['build', '--progress=plain', '--pull', ctx]);
    ok(again);
    expect(again.stderr).toMatch(/^#\d+ Status: Image is up to date for /m);

    const noTag = await berth(['build', '--push', ctx]);
    expect(noTag.code).toBe(1);
    expect(noTag.stderr.trim().split('\n').at(-1)).toBe('ERROR: failed to solve: Cannot push: the build has no tag (add -t name:tag)');
  });

  it('exports its cache to the registry, and a build with an empty local cache reuses it', async () => {
    const cache = `${host}/oci/cache:app`;
    const ctx = context('cached', {
      Dockerfile: 'FROM busybox\nCOPY a.txt /a.txt\nRUN date +%s%N > /stamp\nRUN cat /a.txt /stamp > /both\n',
      'a.txt': 'a\n',
    });
    const first = await berth(['build', '--progress=plain', '--iidfile', join(dir.path, 'iid'), '--cache-to', `type=registry,ref=${cache}`, ctx]);
    ok(first);
    expect(first.stderr).toMatch(/^#\d+ writing cache manifest sha256:[0-9a-f]{64} done$/m);
    const id = readFileSync(join(dir.path, 'iid'), 'utf8');
    ok(await berth(['rmi', id]));
    ok(await berth(['builder', 'prune', '-f']));

    const second = await berth(['build', '--progress=plain', '--cache-from', `type=registry,ref=${cache}`, ctx]);
    ok(second);
    const steps = second.stderr.split('\n').filter((l) => /^#\d+ \[\d\/\d\] (COPY|RUN)/.test(l));
    expect(steps).toHaveLength(3);
    expect(second.stderr.match(/^#\d+ CACHED$/gm)).toHaveLength(3);
    expect(second.stderr).toMatch(new RegExp(`^#\\d+ writing image ${id} done$`, 'm'));
  });

  it('exports its cache to the platform registry without a login (the builder holds its credentials)', async () => {
    const cache = `127.0.0.1:${p.settings.registryPort}/oci/cache:platform`;
    const ctx = context('platform-cache', { Dockerfile: 'FROM busybox\nRUN echo platform > /p\n' });
    const res = await berth(['build', '--progress=plain', '--cache-to', `type=registry,ref=${cache}`, ctx]);
    ok(res);
    expect(res.stderr).toMatch(/^#\d+ writing cache manifest sha256:[0-9a-f]{64} done$/m);
    // Pushes there need the platform's credentials: without them the registry refuses.
    const anonymous = await fetch(`http://127.0.0.1:${p.settings.registryPort}/v2/oci/cache/blobs/uploads/`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
  });
});
