/**
 * `berth build` end to end: the CLI tars the context (honouring .dockerignore), the gateway
 * forwards the Builder service to the host's builder, which builds on the agent's stores through
 * the agent's gRPC services, and the image runs with `berth run`. One platform for the file, stopped (and cleaned) even when a test fails.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, writeFiles, type TestPlatform } from '@berth/testing';

let p: TestPlatform;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'berth-build-cli-'));
  p = await startTestPlatform();
  const boot = await p.berth(['image', 'bootstrap', 'busybox']);
  expect(boot.code, boot.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await p?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('berth build', () => {
  it('builds a directory context with tags, build args, labels and an iidfile, then runs it', async () => {
    const dir = join(work, 'app');
    await writeFiles(dir, {
      Dockerfile: 'FROM busybox\nARG GREETING=hi\nCOPY . /src/\nRUN echo "$GREETING" > /greeting\nCMD ["sh", "-c", "cat /greeting; ls -A /src"]\n',
      '.dockerignore': 'ignored.txt\n',
      'kept.txt': 'kept\n',
      'ignored.txt': 'no\n',
    });
    const iidfile = join(work, 'iid');
    const res = await p.berth(['build', '-t', 'cli-app:1', '-t', 'cli-app:latest', '--build-arg', 'GREETING=hello', '--label', 'team=build', '--iidfile', iidfile, dir]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^#\d+ \[2\/3\] COPY \. \/src\/$/m);
    expect(res.stderr).toMatch(/^#\d+ naming to docker\.io\/library\/cli-app:1 done$/m);
    const id = readFileSync(iidfile, 'utf8');
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect((await p.berth(['inspect', '--format', '{{.Id}} {{.Config.Labels.team}}', 'cli-app:latest'])).stdout).toBe(`${id} build\n`);
    const run = await p.berth(['run', '--rm', 'cli-app:1']);
    expect(run).toMatchObject({ code: 0, stdout: 'hello\n.dockerignore\nDockerfile\nkept.txt\n' });

    // Rebuilt with -q: every step cached, only the id printed.
    const quiet = await p.berth(['build', '-q', '--build-arg', 'GREETING=hello', '--label', 'team=build', dir]);
    expect(quiet).toMatchObject({ code: 0, stdout: `${id}\n`, stderr: '' });
  });

  it('sends a directory context whole once, then only the files that changed', async () => {
    const dir = join(work, 'synced');
    await writeFiles(dir, { Dockerfile: 'FROM busybox\nCOPY . /ctx/\nCMD ["cat", "/ctx/one.txt"]\n', 'one.txt': 'one\n', 'sub/two.txt': 'two\n', 'ignored.log': 'x' , '.dockerignore': '*.log\n' });
    const transfer = async () => {
      const res = await p.berth(['build', '--progress=plain', '-t', 'synced:1', dir]);
      expect(res.code, res.stderr).toBe(0);
      return /^#3 transferring context: (\d+) changed files, (\d+)B done$/m.exec(res.stderr)?.slice(1).map(Number);
    };
    const first = await transfer();
    expect(first?.[0]).toBe(4); // Dockerfile, .dockerignore, one.txt, sub/two.txt (sub is made, ignored.log never sent)
    expect(await transfer()).toEqual([0, 0]);
    writeFileSync(join(dir, 'one.txt'), 'one, changed\n');
    const changed = await transfer();
    expect(changed?.[0]).toBe(1);
    expect((await p.berth(['run', '--rm', 'synced:1'])).stdout).toBe('one, changed\n');
    rmSync(join(dir, 'sub'), { recursive: true });
    expect((await transfer())?.[0]).toBe(0);
    expect((await p.berth(['run', '--rm', 'synced:1', 'ls', '-A', '/ctx'])).stdout).toBe('.dockerignore\nDockerfile\none.txt\n');
  });

  it('reads the Dockerfile from stdin with -f - and a context tar from stdin with -', async () => {
    const dir = join(work, 'stdin');
    await writeFiles(dir, { 'data.txt': 'from the context\n' });
    const fromStdin = await p.berth(['build', '-q', '-f', '-', dir], { input: 'FROM busybox\nCOPY data.txt /\nCMD ["cat", "/data.txt"]\n' });
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect((await p.berth(['run', '--rm', fromStdin.stdout.trim()])).stdout).toBe('from the context\n');

    await writeFiles(dir, { Dockerfile: 'FROM busybox\nCOPY data.txt /copied.txt\nCMD ["cat", "/copied.txt"]\n' });
    const tarball = execFileSync('tar', ['-C', dir, '-cf', '-', '.']);
    const fromTar = await p.berth(['build', '-q', '-t', 'from-tar', '-'], { input: tarball });
    expect(fromTar.code, fromTar.stderr).toBe(0);
    expect((await p.berth(['run', '--rm', 'from-tar'])).stdout).toBe('from the context\n');
  });

  it('fails with the step, its line and its output', async () => {
    const dir = join(work, 'failing');
    await writeFiles(dir, { Dockerfile: 'FROM busybox\nRUN echo about to fail && false\n' });
    const res = await p.berth(['build', dir]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^#\d+ \d+\.\d{3} about to fail$/m);
    expect(res.stderr.trimEnd().split('\n').at(-1)).toBe(
      'ERROR: failed to solve: Dockerfile:2: RUN echo about to fail && false: process "/bin/sh -c echo about to fail && false" did not complete successfully: exit code: 1',
    );
  });

  it('prunes the build cache', async () => {
    const res = await p.berth(['builder', 'prune', '-f']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^Deleted build cache objects: [1-9]\d*\nTotal reclaimed space: .+\n$/);
    const again = await p.berth(['builder', 'prune', '-f']);
    expect(again.stdout).toBe('Deleted build cache objects: 0\nTotal reclaimed space: 0B\n');
  });
});

describe('berth build options', () => {
  const layerCount = async (ref: string) => Number((await p.berth(['image', 'inspect', '--format', '{{len .RootFS.Layers}}', ref])).stdout.trim());

  it('--output writes an OCI layout, a rootfs tar, or a rootfs directory on the client side', async () => {
    const dir = join(work, 'output');
    await writeFiles(dir, { Dockerfile: 'FROM busybox\nRUN echo out > /out.txt && rm /bin/vi\n' });
    const oci = join(work, 'image.oci.tar');
    const tarball = join(work, 'rootfs.tar');
    const local = join(work, 'rootfs-dir');
    const bare = join(work, 'rootfs-bare');
    for (const [flag, value] of [['--output', `type=oci,dest=${oci}`], ['--output', `type=tar,dest=${tarball}`], ['-o', `type=local,dest=${local}`], ['-o', bare]] as const) {
      const res = await p.berth(['build', '-q', flag, value, dir]);
      expect(res.code, res.stderr).toBe(0);
    }
    const list = (file: string) => execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n');
    expect(list(oci)).toEqual(expect.arrayContaining(['oci-layout', 'index.json']));
    expect(list(tarball)).toEqual(expect.arrayContaining(['out.txt', 'bin/busybox']));
    expect(list(tarball)).not.toContain('bin/vi');
    for (const d of [local, bare]) {
      expect(readFileSync(join(d, 'out.txt'), 'utf8')).toBe('out\n');
      expect(existsSync(join(d, 'bin', 'vi'))).toBe(false);
    }
    // The OCI layout loads back.
    const loaded = await p.berth(['load', '-i', oci]);
    expect(loaded.code, loaded.stderr).toBe(0);

    const bad = await p.berth(['build', '--output', 'type=registry,dest=x', dir]);
    expect(bad).toMatchObject({ code: 1, stderr: 'ERROR: output type "registry" is not supported: expected oci, tar or local\n' });
  });

  it('--squash makes one layer on the base, and --no-cache-filter reruns a stage', async () => {
    const dir = join(work, 'squash');
    // /id differs at each run of the base stage: what is built on it cannot come from the cache.
    await writeFiles(dir, { Dockerfile: 'FROM busybox AS base\nRUN echo 1 > /1\nRUN echo 2 > /2 && cat /proc/sys/kernel/random/uuid > /id\nFROM base\nRUN cat /1 /2 > /3\n' });
    const res = await p.berth(['build', '-q', '--squash', '-t', 'squashed:1', dir]);
    expect(res.code, res.stderr).toBe(0);
    expect(await layerCount('squashed:1')).toBe((await layerCount('busybox')) + 1);
    expect((await p.berth(['run', '--rm', 'squashed:1', 'cat', '/3'])).stdout).toBe('1\n2\n');

    const filtered = await p.berth(['build', '--progress=plain', '--no-cache-filter', 'base', dir]);
    expect(filtered.code, filtered.stderr).toBe(0);
    expect(filtered.stderr.match(/^#\d+ CACHED$/gm)).toBeNull();
    const unfiltered = await p.berth(['build', '--progress=plain', dir]);
    expect(unfiltered.stderr.match(/^#\d+ CACHED$/gm)).toHaveLength(3);
  });

  it('--progress=tty draws the live view', async () => {
    const dir = join(work, 'tty');
    await writeFiles(dir, { Dockerfile: 'FROM busybox\nRUN echo tty-output\n' });
    const res = await p.berth(['build', '--no-cache', '--progress=tty', dir]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/\[\+\] Building \d+\.\d+s \(\d+\/\d+\) FINISHED\n/);
    expect(res.stderr).toMatch(/^ => \[2\/2\] RUN echo tty-output +\d+\.\d+s$/m);
    expect(res.stderr).not.toMatch(/^#\d+ /m);
  });

  it('builds a git repository (a local bare one, at a ref, from a subdirectory)', async () => {
    const src = join(work, 'git-src');
    const bareRepo = join(work, 'repo.git');
    await writeFiles(src, {
      'app/Dockerfile': 'FROM busybox\nCOPY . /app/\nCMD ["sh", "-c", "cat /app/version; ls -A /app"]\n',
      'app/version': 'v1\n',
      'README': 'not in the context\n',
    });
    const git = (cwd: string, ...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, stdio: 'pipe' });
    git(work, 'init', '-q', '--bare', bareRepo);
    git(src, 'init', '-q', '-b', 'main');
    git(src, 'add', '.');
    git(src, 'commit', '-q', '-m', 'v1');
    git(src, 'tag', 'v1');
    writeFileSync(join(src, 'app', 'version'), 'v2\n');
    git(src, 'commit', '-q', '-am', 'v2');
    git(src, 'push', '-q', bareRepo, 'main', 'v1');

    for (const [ref, version] of [['main', 'v2'], ['v1', 'v1']] as const) {
      const res = await p.berth(['build', '-q', '-t', `from-git:${version}`, `file://${bareRepo}#${ref}:app`]);
      expect(res.code, res.stderr).toBe(0);
      expect((await p.berth(['run', '--rm', `from-git:${version}`])).stdout).toBe(`${version}\nDockerfile\nversion\n`);
    }
    const missing = await p.berth(['build', `file://${bareRepo}#nosuch`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^ERROR: unable to prepare context: unable to 'git clone' to temporary context directory: .+/);
  });
});
