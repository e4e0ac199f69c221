import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@berth/errors';
import { startRegistryProcess, tempDir, type RegistryProcess, type TempDir } from '@berth/testing';
import { parseCacheSpec } from './registry-cache.js';
import { BuildHarness, tarStream } from '../test-support.js';

/**
 * `--cache-to` / `--cache-from type=registry`: two builders on separate data roots (two hosts)
 * and one registry (Berth's, as a process on a loopback port).
 */

let first: BuildHarness;
let second: BuildHarness;
let root: TempDir;
let registry: RegistryProcess;

beforeAll(async () => {
  root = tempDir('berth-build-cache-registry-');
  [first, second, registry] = await Promise.all([
    BuildHarness.open(),
    BuildHarness.open(),
    startRegistryProcess(['--listen', '127.0.0.1:0', '--root', join(root.path, 'open'), '--log-level', 'silent']),
  ]);
});

afterAll(async () => {
  await first?.close();
  await second?.close();
  await registry?.stop();
  root?.remove();
});

const dockerfile = [
  'FROM busybox',
  'ARG FLAVOUR=plain',
  'COPY app.txt /app/',
  'RUN echo "$FLAVOUR" > /app/flavour && date +%s%N > /app/built',
  'WORKDIR /app',
  'CMD ["cat", "/app/app.txt", "/app/flavour"]',
  '',
].join('\n');

describe('registry build cache', () => {
  it('lets a second host reuse every step of a build exported by the first', async () => {
    const ref = `${registry.host}/cache/app:buildcache`;
    const files = { Dockerfile: dockerfile, 'app.txt': 'app\n' };
    const lines: string[] = [];
    const built = await first.build(await first.context(files), { tags: ['app:1'], cacheTo: [`type=registry,ref=${ref},mode=max`] }, lines);
    expect(built.executed).toBe(3);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^#\\d+ exporting cache to registry ${ref.replace(/[.]/g, '\\.')}$`)));
    expect(lines).toContainEqual(expect.stringMatching(/^#\d+ writing cache manifest sha256:[0-9a-f]{64} done$/));

    // The second host has busybox but none of the build's layers nor cache records.
    const dir = await second.context(files);
    const imported: string[] = [];
    const reused = await second.build(dir, { tags: ['app:1'], cacheFrom: [`type=registry,ref=${ref}`] }, imported);
    expect({ executed: reused.executed, cached: reused.cached }).toEqual({ executed: 0, cached: 3 });
    expect(imported).toContainEqual(expect.stringMatching(/^#\d+ 3 cache records done$/));
    // Same steps, same times: the very same image, which runs with the first host's files.
    expect(reused.imageId).toBe(built.imageId);
    expect((await second.run('app:1')).output).toBe('app\nplain\n');
    expect((await second.run('app:1', ['cat', '/app/built'])).output).toBe((await first.run('app:1', ['cat', '/app/built'])).output);

    // A changed build arg reruns the RUN and what follows, not the COPY before it; a bare
    // reference works as --cache-from too.
    const changed = await second.build(dir, { buildArgs: { FLAVOUR: 'spicy' }, cacheFrom: [ref] });
    expect({ executed: changed.executed, cached: changed.cached }).toEqual({ executed: 2, cached: 1 });
  });

  it('goes on without a cache that cannot be read', async () => {
    const lines: string[] = [];
    const dir = await second.context({ Dockerfile: 'FROM busybox\nRUN true\n' });
    const ref = `${registry.host}/cache/none:missing`;
    await second.build(dir, { cacheFrom: [`type=registry,ref=${ref}`] }, lines);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^#\\d+ WARNING: cannot import the cache "${ref}": .*not found`)));
  });
});

describe('a registry cache on the platform registry', () => {
  it('is pushed with the platform credentials when the build brings none, and refused without them', async () => {
    // The platform registry: anyone pulls, pushes need its password (as `platform up` makes it).
    const password = 'platform-secret';
    const htpasswd = join(root.path, 'registry.htpasswd');
    await writeFile(htpasswd, `berth:${bcrypt.hashSync(password, 4)}\n`);
    const platform = await startRegistryProcess([
      '--listen', '127.0.0.1:0', '--root', join(root.path, 'platform'), '--auth', 'basic', '--htpasswd', htpasswd, '--anonymous-pull', '--log-level', 'silent',
    ]);
    try {
      const port = platform.port;
      const ref = `127.0.0.1:${port}/cache/platform:buildcache`;
      const files = { Dockerfile: 'FROM busybox\nRUN echo cached > /c\n' };
      const dir = await first.context(files);
      const anonymous = first.reopen();
      await expect(anonymous.build({ context: tarStream(dir), cacheTo: [`type=registry,ref=${ref}`] })).rejects.toThrow(/unauthorized/i);
      anonymous.close();

      // Named `localhost:<port>` in the builder's flags, `127.0.0.1:<port>` in the ref: the same registry.
      const builder = first.reopen({ platformRegistry: { address: `localhost:${port}`, credentials: { username: 'berth', password } } });
      try {
        const lines: string[] = [];
        await builder.build({ context: tarStream(dir), cacheTo: [`type=registry,ref=${ref}`] }, { onProgress: (l) => lines.push(l) });
        expect(lines).toContainEqual(expect.stringMatching(/^#\d+ writing cache manifest sha256:[0-9a-f]{64} done$/));
      } finally {
        builder.close();
      }
      // Anyone may read it back: the second host imports it without credentials.
      const reused = await second.build(await second.context(files), { cacheFrom: [ref] });
      expect({ executed: reused.executed, cached: reused.cached }).toEqual({ executed: 0, cached: 1 });
    } finally {
      await platform.stop();
    }
  });
});

describe('parseCacheSpec', () => {
  it('reads the registry form and refuses the others', () => {
    expect(parseCacheSpec('type=registry,ref=localhost:5000/a/b:c,mode=max', '--cache-to').toString()).toBe('localhost:5000/a/b:c');
    expect(parseCacheSpec('localhost:5000/a/b', '--cache-from').toString()).toBe('localhost:5000/a/b:latest');
    const cases: Array<[string, string]> = [
      ['type=local,dest=/tmp/x', 'Invalid --cache-to value "type=local,dest=/tmp/x": cache type "local" is not supported, only type=registry'],
      ['type=registry', 'Invalid --cache-to value "type=registry": ref is missing (type=registry,ref=host/repo:cache)'],
      ['type=registry,ref=a/b,colour=red', 'Invalid --cache-to value "type=registry,ref=a/b,colour=red": unknown attribute "colour"'],
      ['localhost:5000/a', 'Invalid --cache-to value "localhost:5000/a": ref is missing (type=registry,ref=host/repo:cache)'],
    ];
    for (const [text, message] of cases) {
      expect(() => parseCacheSpec(text, '--cache-to')).toThrow(InvalidArgumentError);
      expect(() => parseCacheSpec(text, '--cache-to')).toThrow(message);
    }
  });
});
