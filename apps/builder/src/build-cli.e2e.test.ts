/**
 * `berth build` end to end: the CLI tars the context (honouring .dockerignore), the gateway
 * forwards the Builder service to the host's builder, which builds on the agent's stores through
 * the agent's gRPC services, and the image runs with `berth run`. One platform for the file, stopped (and cleaned) even when a test fails.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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

describe('berth build: docker parity (issue 12)', () => {
  const build = async (dir: string, ...flags: string[]) => {
    const res = await p.berth(['build', '--progress=plain', ...flags, dir]);
    expect(res.code, res.stderr).toBe(0);
    return res;
  };
  const runIn = async (image: string, script: string) => (await p.berth(['run', '--rm', image, 'sh', '-c', script])).stdout;

  it('names the base image in the FROM line as written, not another tag of it', async () => {
    // busybox:latest re-tagged after another name: that other name is now the image's oldest.
    expect((await p.berth(['tag', 'busybox', 'aaa/first-tag:1'])).code).toBe(0);
    expect((await p.berth(['tag', 'aaa/first-tag:1', 'busybox:latest'])).code).toBe(0);
    const dir = join(work, 'from-line');
    await writeFiles(dir, { Dockerfile: 'FROM busybox\nRUN true\n' });
    const res = await build(dir);
    expect(res.stderr).toMatch(/^#\d+ \[1\/2\] FROM docker\.io\/library\/busybox:latest$/m);
    expect(res.stderr).not.toContain('first-tag');
  });

  it('COPY/ADD --chown=<uid> gives gid = uid; ADD copies a compressed file that is not a tar as it is', async () => {
    const dir = join(work, 'chown-add');
    await writeFiles(dir, {
      Dockerfile: [
        'FROM busybox',
        'COPY --chown=1234 a.txt /a.txt',
        'ADD --chown=1234:55 a.txt /b.txt',
        'ADD notes.txt.gz /n/',
        'ADD inner.tar.gz /t/',
        '',
      ].join('\n'),
      'a.txt': 'a\n',
      'inner/inside.txt': 'inside\n',
    });
    writeFileSync(join(dir, 'notes.txt.gz'), execFileSync('gzip', ['-c'], { input: 'not a tar\n' }));
    execFileSync('tar', ['-C', join(dir, 'inner'), '-czf', join(dir, 'inner.tar.gz'), 'inside.txt']);
    await build(dir, '-t', 'chown-add:1');
    expect(await runIn('chown-add:1', 'stat -c %u:%g /a.txt /b.txt; ls /n; ls /t; zcat /n/notes.txt.gz; cat /t/inside.txt')).toBe(
      '1234:1234\n1234:55\nnotes.txt.gz\ninside.txt\nnot a tar\ninside\n',
    );
  });

  it('--network, --add-host and --platform shape the RUN steps; bad values are refused', async () => {
    const dir = join(work, 'network');
    await writeFiles(dir, { Dockerfile: 'FROM busybox\nRUN ls /sys/class/net > /nets; grep myhost /etc/hosts > /hosts || true\n' });
    const platform = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;
    await build(dir, '-t', 'net-none:1', '--network', 'none', '--add-host', 'myhost:10.1.2.3', '--platform', platform);
    expect(await runIn('net-none:1', 'cat /nets /hosts; grep -c myhost /etc/hosts')).toBe('lo\n10.1.2.3\tmyhost\n0\n');
    await build(dir, '-t', 'net-host:1', '--network', 'host');
    expect(await runIn('net-host:1', 'cat /hosts; grep -c . /nets')).not.toMatch(/myhost|^1$/);

    const badNet = await p.berth(['build', '--network', 'mynet', dir]);
    expect(badNet.code).toBe(1);
    expect(badNet.stderr.trimEnd().split('\n').at(-1)).toBe('ERROR: failed to solve: network mode "mynet" not supported by buildkit: expected default, host or none');
    const badPlatform = await p.berth(['build', '--platform', 'linux/s390x', dir]);
    expect(badPlatform.code).toBe(1);
    expect(badPlatform.stderr).toContain('ERROR: failed to solve: Cannot build for platform "linux/s390x": this builder builds for ');
    const badHost = await p.berth(['build', '--add-host', 'nocolon', dir]);
    expect(badHost.code).toBe(1);
    expect(badHost.stderr).toContain('invalid argument "nocolon" for "--add-host" flag: bad format for add-host: "nocolon"');
  });

  it('--secret reaches RUN --mount=type=secret (as a file or a variable) and nothing else; --ssh is refused', async () => {
    const dir = join(work, 'secret');
    const secretFile = join(work, 'token.txt');
    writeFileSync(secretFile, 'hush-1234');
    await writeFiles(dir, {
      Dockerfile: [
        'FROM busybox',
        'RUN --mount=type=secret,id=tok md5sum < /run/secrets/tok > /sum && stat -c %a /run/secrets/tok > /mode',
        'RUN --mount=type=secret,id=tok,env=TOK printf %s "$TOK" | md5sum > /env',
        'RUN --mount=type=secret,id=absent ls /run/secrets > /listing 2>&1 || echo none > /listing',
        '',
      ].join('\n'),
    });
    const res = await build(dir, '-t', 'secret:1', '--secret', `id=tok,src=${secretFile}`);
    expect(res.stderr).not.toContain('hush-1234');
    const sum = `${createHash('md5').update('hush-1234').digest('hex')}  -\n`;
    expect(await runIn('secret:1', 'cat /sum /mode /env /listing; test -e /run/secrets && echo leaked; true')).toBe(`${sum}400\n${sum}none\n`);
    expect((await p.berth(['history', '--no-trunc', 'secret:1'])).stdout).not.toContain('hush');

    await writeFiles(dir, { 'Dockerfile.required': 'FROM busybox\nRUN --mount=type=secret,id=needed,required cat /run/secrets/needed\n' });
    const missing = await p.berth(['build', '-f', join(dir, 'Dockerfile.required'), dir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('secret "needed" not found: pass it with --secret id=needed,src=FILE');

    const ssh = await p.berth(['build', '--ssh', 'default', dir]);
    expect(ssh).toMatchObject({ code: 1, stderr: 'ERROR: --ssh is not supported: Berth does not forward an SSH agent to builds (pass a key with --secret instead)\n' });
  });

  it('RUN --mount=type=bind (context, stage, rw) and type=tmpfs leave nothing in the layer; bound files are in the cache key', async () => {
    const dir = join(work, 'bind');
    await writeFiles(dir, {
      Dockerfile: [
        'FROM busybox AS build',
        'RUN mkdir /out && echo built > /out/artifact',
        'FROM busybox',
        'RUN --mount=type=bind,source=data,target=/mnt/data cat /mnt/data/x > /x',
        'RUN --mount=type=bind,from=build,source=/out,target=/o cp /o/artifact /artifact',
        'RUN --mount=type=bind,target=/ctx,rw touch /ctx/written-by-run && ls /ctx > /ctx-listing',
        'RUN --mount=type=tmpfs,target=/scratch grep -c " /scratch tmpfs" /proc/mounts > /tmpfs && echo hi > /scratch/f',
        '',
      ].join('\n'),
      'data/x': 'one\n',
    });
    await build(dir, '-t', 'bind:1');
    expect(await runIn('bind:1', 'cat /x /artifact /tmpfs; grep -c written-by-run /ctx-listing; ls -d /mnt/data /o /ctx /scratch 2>&1 | grep -c "No such file"')).toBe('one\nbuilt\n1\n1\n4\n');
    expect(existsSync(join(dir, 'written-by-run'))).toBe(false);

    writeFileSync(join(dir, 'data', 'x'), 'two\n');
    const rebuilt = await build(dir, '-t', 'bind:1');
    const vertex = /^(#\d+) \[stage-1 2\/5\] RUN --mount=type=bind,source=data/m.exec(rebuilt.stderr)?.[1];
    expect(vertex, rebuilt.stderr).toBeDefined();
    expect(rebuilt.stderr).toContain(`${vertex} DONE`);
    expect(rebuilt.stderr).not.toContain(`${vertex} CACHED`);
    expect(await runIn('bind:1', 'cat /x')).toBe('two\n');
  });

  it('--build-context names a directory (for COPY --from, RUN --mount=from or FROM) or an image', async () => {
    const dir = join(work, 'named');
    const extra = join(work, 'named-extra');
    await writeFiles(extra, { 'lib.txt': 'from the extra context\n', 'skip.log': 'no', '.dockerignore': '*.log\n' });
    await writeFiles(dir, { Dockerfile: 'FROM base\nCOPY --from=extra . /extra/\nRUN --mount=type=bind,from=extra,target=/e cat /e/lib.txt > /bound\n' });
    await build(dir, '-t', 'named:1', '--build-context', `extra=${extra}`, '--build-context', 'base=docker-image://busybox:latest');
    expect(await runIn('named:1', 'ls -A /extra; cat /bound')).toBe('.dockerignore\nlib.txt\nfrom the extra context\n');

    // A directory as a FROM base: its files are the stage's root filesystem.
    await writeFiles(dir, { 'Dockerfile.dir': 'FROM extra\nCOPY --from=busybox /bin/busybox /bin/busybox\n' });
    const asBase = await build(dir, '-f', join(dir, 'Dockerfile.dir'), '-t', 'named-base:1', '--build-context', `extra=${extra}`);
    expect(asBase.stderr).toMatch(/^#\d+ \[1\/2\] FROM extra$/m);
    expect((await p.berth(['run', '--rm', 'named-base:1', '/bin/busybox', 'cat', '/lib.txt'])).stdout).toBe('from the extra context\n');
  });

  it('images --tree shows each image with its platform manifest', async () => {
    const res = await p.berth(['images', '--tree', 'named']);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines.slice(0, 2)).toEqual(["WARNING: This is an experimental feature. The output may change and shouldn't be depended on.", '']);
    expect(lines[2]).toMatch(/^IMAGE +ID +DISK USAGE {3}CONTENT SIZE {3}IN USE$/);
    expect(lines[3]).toMatch(/^named:1 +[0-9a-f]{12} +\d+(\.\d+)?[kM]B +\d+(\.\d+)?[kM]B {9}$/);
    expect(lines[4]).toMatch(/^└─ linux\/\w+ +[0-9a-f]{12} +\d/);
    const quiet = await p.berth(['images', '--tree', '-q']);
    expect(quiet).toMatchObject({ code: 1, stderr: '--quiet is not yet supported with --tree\n' });
  });
});
