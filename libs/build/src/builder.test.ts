import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import { writeFiles } from '@berth/testing';
import { Builder } from './builder.js';
import { BuildHarness, tarStream } from './test-support.js';

/**
 * Real builds: a busybox image bootstrapped into a temporary data root, RUN steps in runc
 * containers through conmon, results run the same way. Everything is cleaned up in afterAll.
 */

let h: BuildHarness;

beforeAll(async () => {
  h = await BuildHarness.open();
});

afterAll(async () => {
  await h?.close();
});

/** Asserts that `promise` rejects with exactly this class and message. */
async function expectError(promise: Promise<unknown>, Class: new (...args: never[]) => Error, message: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Class);
  expect((err as Error).message).toBe(message);
}

/** The vertex titles of a build's progress marked CACHED, and those that ran. */
function steps(lines: string[]): { cached: string[]; ran: string[] } {
  const titles = new Map<string, string>();
  const cached: string[] = [];
  const ran: string[] = [];
  for (const line of lines) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const [, n, rest] = m as unknown as [string, string, string];
    if (!titles.has(n)) titles.set(n, rest.replace(/^\[[^\]]*\] /, ''));
    else if (rest === 'CACHED') cached.push(titles.get(n)!);
    else if (/^DONE /.test(rest) && /^(RUN|COPY|ADD|WORKDIR)/.test(titles.get(n)!)) ran.push(titles.get(n)!);
  }
  return { cached, ran };
}

describe('instructions', () => {
  it('applies every instruction to the config and the filesystem', async () => {
    const dir = await h.context({
      Dockerfile: [
        'ARG BASE=busybox',
        'FROM ${BASE} AS base',
        'ARG VERSION=1.0',
        'ENV APP_HOME=/opt/app GREETING="hello world"',
        'LABEL org.example.version=$VERSION "quoted key"="a b"',
        'MAINTAINER someone@example.com',
        'EXPOSE 8080 53/udp',
        'VOLUME ["/data"]',
        'WORKDIR $APP_HOME',
        'WORKDIR sub',
        'COPY --chown=app:app --chmod=640 app.conf ./',
        'COPY tree/ /opt/tree/',
        'COPY *.txt /opt/globbed/',
        'RUN echo "$GREETING $VERSION" > greeting.txt',
        'USER app',
        'RUN id -un > /tmp/whoami',
        'STOPSIGNAL SIGQUIT',
        'HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["true"]',
        'SHELL ["/bin/sh", "-ec"]',
        'RUN echo "shell is $0" > /tmp/shell',
        'ONBUILD RUN echo triggered > /tmp/onbuild',
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["echo $GREETING from $(pwd) as $(id -un)"]',
        '',
      ].join('\n'),
      'app.conf': 'key=value\n',
      'tree/a.txt': 'a\n',
      'tree/nested/b.sh': { content: '#!/bin/sh\n', mode: 0o755 },
      'one.txt': '1\n',
      'two.txt': '2\n',
    });
    const result = await h.build(dir, { tags: ['every:1', 'every:2'] });
    const image = await h.images.resolve('every:1');
    expect(image.id).toBe(result.imageId);
    expect((await h.images.resolve('every:2')).id).toBe(result.imageId);
    const config = image.config.config!;
    expect(config.Env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'APP_HOME=/opt/app',
      'GREETING=hello world',
    ]);
    expect(config.Labels).toEqual({ 'org.example.version': '1.0', 'quoted key': 'a b' });
    expect(image.config.author).toBe('someone@example.com');
    expect(config.ExposedPorts).toEqual({ '8080/tcp': {}, '53/udp': {} });
    expect(config.Volumes).toEqual({ '/data': {} });
    expect(config.WorkingDir).toBe('/opt/app/sub');
    expect(config.User).toBe('app');
    expect(config.StopSignal).toBe('SIGQUIT');
    expect(config.Healthcheck).toEqual({ Test: ['CMD', 'true'], Interval: 30e9, Timeout: 5e9, Retries: 3 });
    expect(config.Shell).toEqual(['/bin/sh', '-ec']);
    expect(config.OnBuild).toEqual(['RUN echo triggered > /tmp/onbuild']);
    expect(config.Entrypoint).toEqual(['/bin/sh', '-c']);
    expect(config.Cmd).toEqual(['echo $GREETING from $(pwd) as $(id -un)']);

    // History: the base's entry, then one per instruction; metadata steps have no layer.
    const history = image.config.history!.slice(1);
    expect(history.map((e) => [e.created_by, e.empty_layer ?? false])).toEqual([
      ['ARG VERSION=1.0', true],
      ['ENV APP_HOME=/opt/app GREETING="hello world"', true],
      ['LABEL org.example.version=$VERSION "quoted key"="a b"', true],
      ['MAINTAINER someone@example.com', true],
      ['EXPOSE 8080 53/udp', true],
      ['VOLUME ["/data"]', true],
      ['WORKDIR /opt/app', false],
      ['WORKDIR /opt/app/sub', false],
      ['COPY --chown=app:app --chmod=640 app.conf ./ # buildkit', false],
      ['COPY tree/ /opt/tree/ # buildkit', false],
      ['COPY *.txt /opt/globbed/ # buildkit', false],
      ['RUN |1 VERSION=1.0 /bin/sh -c echo "$GREETING $VERSION" > greeting.txt # buildkit', false],
      ['USER app', true],
      ['RUN |1 VERSION=1.0 /bin/sh -c id -un > /tmp/whoami # buildkit', false],
      ['STOPSIGNAL SIGQUIT', true],
      ['HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["true"]', true],
      ['SHELL ["/bin/sh", "-ec"]', true],
      ['RUN |1 VERSION=1.0 /bin/sh -ec echo "shell is $0" > /tmp/shell # buildkit', false],
      ['ONBUILD RUN echo triggered > /tmp/onbuild', true],
      ['ENTRYPOINT ["/bin/sh", "-c"]', true],
      ['CMD ["echo $GREETING from $(pwd) as $(id -un)"]', true],
    ]);
    expect(history.every((e) => e.comment === 'buildkit.dockerfile.v0')).toBe(true);
    const layers = image.config.history!.filter((e) => !e.empty_layer).length;
    expect(image.config.rootfs.diff_ids).toHaveLength(layers);
    expect(image.manifest.layers).toHaveLength(layers);

    // ENTRYPOINT + CMD, env, user and working directory when run.
    expect(await h.run('every:1')).toEqual({ output: 'hello world from /opt/app/sub as app\n', exitCode: 0 });
    const files = await h.run('every:1', [
      'stat -c "%n %u:%g %a" app.conf /opt/tree /opt/tree/a.txt /opt/tree/nested/b.sh /opt/globbed/one.txt /opt/globbed/two.txt; cat greeting.txt /tmp/whoami /tmp/shell',
    ]);
    expect(files.output).toBe(
      [
        'app.conf 1000:1000 640',
        '/opt/tree 0:0 755',
        '/opt/tree/a.txt 0:0 644',
        '/opt/tree/nested/b.sh 0:0 755',
        '/opt/globbed/one.txt 0:0 644',
        '/opt/globbed/two.txt 0:0 644',
        'hello world 1.0',
        'app',
        'shell is /bin/sh',
        '',
      ].join('\n'),
    );
  });

  it('runs ONBUILD triggers at the child FROM and does not pass them on', async () => {
    const parent = await h.context({ Dockerfile: 'FROM busybox\nONBUILD COPY marker.txt /from-child/\nONBUILD RUN echo ran > /onbuild.txt\n' });
    await h.build(parent, { tags: ['onbuild-parent'] });
    const child = await h.context({ Dockerfile: 'FROM onbuild-parent\nRUN cat /onbuild.txt /from-child/marker.txt\n', 'marker.txt': 'marker\n' });
    const lines: string[] = [];
    await h.build(child, { tags: ['onbuild-child'] }, lines);
    expect(lines).toContain('#5 [2/4] COPY marker.txt /from-child/');
    expect(lines.some((l) => / ran$/.test(l))).toBe(true);
    expect(await h.sh('onbuild-child', 'cat /onbuild.txt /from-child/marker.txt')).toBe('ran\nmarker\n');
    expect((await h.images.resolve('onbuild-child')).config.config?.OnBuild).toBeUndefined();
  });

  it('unpacks local tar archives with ADD (plain, gzip, bzip2, xz) and copies other files as they are', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\nADD plain.tar gz.tar.gz bz.tar.bz2 xz.tar.xz /x/\nADD notes.txt /x/notes.txt\n', 'notes.txt': 'n\n' });
    const src = join(dir, 'src');
    await writeFiles(src, { 'p/file.txt': 'plain\n' });
    execFileSync('tar', ['-C', src, '-cf', join(dir, 'plain.tar'), 'p']);
    await writeFiles(src, { 'g/file.txt': 'gzip\n', 'b/file.txt': 'bzip2\n', 'x/file.txt': 'xz\n' });
    execFileSync('tar', ['-C', src, '-czf', join(dir, 'gz.tar.gz'), 'g']);
    execFileSync('tar', ['-C', src, '-cjf', join(dir, 'bz.tar.bz2'), 'b']);
    execFileSync('tar', ['-C', src, '-cJf', join(dir, 'xz.tar.xz'), 'x']);
    await h.build(dir, { tags: ['add-tar'] });
    expect(await h.sh('add-tar', 'cat /x/p/file.txt /x/g/file.txt /x/b/file.txt /x/x/file.txt /x/notes.txt; ls /x')).toBe(
      'plain\ngzip\nbzip2\nxz\nn\nb\ng\nnotes.txt\np\nx\n',
    );
  });

  it('downloads ADD <url> and checks --checksum', async () => {
    const server: Server = createServer((_req, res) => res.end('remote content\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files/remote.txt`;
      const digest = 'sha256:' + execFileSync('sha256sum', { input: 'remote content\n' }).toString().split(' ')[0];
      const ok = await h.context({ Dockerfile: `FROM busybox\nADD --checksum=${digest} ${url} /dl/\n` });
      await h.build(ok, { tags: ['add-url'] });
      expect(await h.sh('add-url', 'cat /dl/remote.txt; stat -c %a /dl/remote.txt')).toBe('remote content\n600\n');
      const bad = await h.context({ Dockerfile: `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} ${url} /dl/\n` });
      await expect(h.build(bad)).rejects.toThrow(
        `Dockerfile:2: ADD --checksum=sha256:${'0'.repeat(64)} ${url} /dl/: digest mismatch for "${url}": expected "sha256:${'0'.repeat(64)}", got "${digest}"`,
      );
    } finally {
      server.close();
    }
  });

  it('runs heredoc RUNs and writes heredoc COPY sources', async () => {
    const dir = await h.context({
      Dockerfile: [
        'FROM busybox',
        'ARG WHO=builder',
        'RUN <<EOF',
        'echo first > /first',
        'echo second >> /first',
        'EOF',
        'RUN <<EOF',
        '#!/bin/sh -e',
        'echo "script $0" > /script',
        'EOF',
        'RUN cat <<A > /a.txt',
        'from cat $WHO',
        'A',
        'COPY <<EOF /etc/config.ini',
        'who=$WHO',
        'EOF',
        '',
      ].join('\n'),
    });
    await h.build(dir, { tags: ['heredoc'] });
    expect(await h.sh('heredoc', 'cat /first /script /a.txt /etc/config.ini')).toBe(
      'first\nsecond\nscript /dev/pipes/EOF\nfrom cat builder\nwho=builder\n',
    );
  });

  it('honours .dockerignore with exceptions', async () => {
    const dir = await h.context({
      Dockerfile: 'FROM busybox\nCOPY . /ctx/\n',
      '.dockerignore': '*.log\n!keep.log\nsecrets\nnode_modules\n!node_modules/keep/**\n**/*.tmp\n',
      'a.log': 'x',
      'keep.log': 'x',
      'secrets/key': 'x',
      'node_modules/drop/x.js': 'x',
      'node_modules/keep/y.js': 'x',
      'src/main.c': 'x',
      'src/deep/junk.tmp': 'x',
    });
    await h.build(dir, { tags: ['ignore'] });
    expect(await h.sh('ignore', 'cd /ctx && find . | sort')).toBe(
      ['.', './.dockerignore', './Dockerfile', './keep.log', './node_modules', './node_modules/keep', './node_modules/keep/y.js', './src', './src/deep', './src/main.c', ''].join('\n'),
    );
  });
});

describe('stages', () => {
  it('builds FROM scratch with COPY --from and only the stages --target needs', async () => {
    const dir = await h.context({
      Dockerfile: [
        'FROM busybox AS build',
        'RUN mkdir /out && echo binary > /out/app && chmod 750 /out/app && chown 1000:1000 /out/app',
        '',
        'FROM busybox AS broken',
        'RUN exit 3',
        '',
        'FROM scratch AS final',
        'COPY --from=build /out/app /app',
        'COPY --from=busybox /bin/busybox /bin/busybox',
        'CMD ["/bin/busybox", "cat", "/app"]',
        '',
        'FROM final AS later',
        'RUN false',
        '',
      ].join('\n'),
    });
    const lines: string[] = [];
    await h.build(dir, { target: 'final', tags: ['scratch-app'] }, lines);
    expect(lines.some((l) => l.includes('exit 3') || l.includes('RUN false'))).toBe(false);
    expect(lines.filter((l) => / \[(build|final) \d\/\d\] /.test(l)).map((l) => l.replace(/^#\d+ /, ''))).toEqual([
      '[build 1/2] FROM docker.io/library/busybox:latest',
      '[build 2/2] RUN mkdir /out && echo binary > /out/app && chmod 750 /out/app && chown 1000:1000 /out/app',
      '[final 1/3] FROM scratch',
      '[final 2/3] COPY --from=build /out/app /app',
      '[final 3/3] COPY --from=busybox /bin/busybox /bin/busybox',
    ]);
    const image = await h.images.resolve('scratch-app');
    expect(image.config.rootfs.diff_ids).toHaveLength(2);
    expect(await h.run('scratch-app')).toEqual({ output: 'binary\n', exitCode: 0 });
    const st = await h.run('scratch-app', ['/bin/busybox', 'stat', '-c', '%u:%g %a', '/app']);
    expect(st.output).toBe('1000:1000 750\n');
  });

  it('refuses an unknown target', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox AS a\n' });
    await expectError(h.build(dir, { target: 'nope' }), InvalidArgumentError, 'Target stage "nope" could not be found in Dockerfile');
  });
});

describe('cache', () => {
  const dockerfile = ['FROM busybox', 'COPY a.txt /a.txt', 'ARG MODE=one', 'COPY b.txt /b.txt', 'RUN echo "$MODE" > /mode', 'RUN cat /a.txt /b.txt > /both', ''].join('\n');

  it('reuses every step, rebuilds from a changed file, and only what a changed build arg reaches', async () => {
    const dir = await h.context({ Dockerfile: dockerfile, 'a.txt': 'a\n', 'b.txt': 'b\n' });
    let lines: string[] = [];
    const first = await h.build(dir, {}, lines);
    expect(steps(lines)).toEqual({ cached: [], ran: ['COPY a.txt /a.txt', 'COPY b.txt /b.txt', 'RUN echo "$MODE" > /mode', 'RUN cat /a.txt /b.txt > /both'] });

    lines = [];
    const again = await h.build(dir, {}, lines);
    expect(steps(lines)).toEqual({ cached: ['COPY a.txt /a.txt', 'COPY b.txt /b.txt', 'RUN echo "$MODE" > /mode', 'RUN cat /a.txt /b.txt > /both'], ran: [] });
    expect(again.cached).toBe(4);
    expect(again.executed).toBe(0);
    // Same layers, same history times: the very same image.
    expect(again.imageId).toBe(first.imageId);

    // A changed file: its COPY and everything after it run again.
    await writeFile(join(dir, 'b.txt'), 'B\n');
    lines = [];
    const changed = await h.build(dir, {}, lines);
    expect(steps(lines)).toEqual({ cached: ['COPY a.txt /a.txt'], ran: ['COPY b.txt /b.txt', 'RUN echo "$MODE" > /mode', 'RUN cat /a.txt /b.txt > /both'] });
    expect(await h.sh(changed.imageId, 'cat /both')).toBe('a\nB\n');

    // A changed mode is a change too.
    execFileSync('chmod', ['600', join(dir, 'b.txt')]);
    lines = [];
    await h.build(dir, {}, lines);
    expect(steps(lines).cached).toEqual(['COPY a.txt /a.txt']);

    // A build arg: the steps before its ARG stay cached, the RUNs after it rerun.
    lines = [];
    const other = await h.build(dir, { buildArgs: { MODE: 'two' } }, lines);
    expect(steps(lines)).toEqual({ cached: ['COPY a.txt /a.txt', 'COPY b.txt /b.txt'], ran: ['RUN echo "$MODE" > /mode', 'RUN cat /a.txt /b.txt > /both'] });
    expect(await h.sh(other.imageId, 'cat /mode')).toBe('two\n');

    // --no-cache runs everything.
    lines = [];
    await h.build(dir, { noCache: true }, lines);
    expect(steps(lines).cached).toEqual([]);
    expect(steps(lines).ran).toHaveLength(4);
  });

  it('survives a restart, and prune empties it', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\nRUN echo persisted > /p\n' });
    await h.build(dir);
    const lines: string[] = [];
    const restarted = h.reopen();
    await restarted.build({ context: (await import('./test-support.js')).tarStream(dir) }, { onProgress: (l) => lines.push(l) });
    expect(steps(lines).cached).toEqual(['RUN echo persisted > /p']);
    const pruned = await restarted.prune();
    expect(pruned.records).toBeGreaterThan(0);
    expect(restarted.cache.count()).toBe(0);
    const after: string[] = [];
    await h.build(dir, {}, after);
    expect(steps(after).ran).toEqual(['RUN echo persisted > /p']);
  });

  it('runs a cached step again when its layer blob is gone, fully cached or before a step that runs', async () => {
    const unique = `lost ${Date.now()} ${Math.random()}\n`;
    const dir = await h.context({ Dockerfile: 'FROM busybox\nCOPY lost.txt /lost.txt\nRUN cat /lost.txt > /copy\n', 'lost.txt': unique });
    /** Deletes the blob of the COPY's layer behind the cache's back (as a disk that lost it). */
    const loseCopyLayer = async (imageId: string) => {
      const image = await h.images.resolve(imageId);
      await h.content.delete(image.manifest.layers.at(-2)!.digest);
    };
    /** The image is whole: every blob is there, and it runs. */
    const expectWhole = async (imageId: string, script: string, output: string) => {
      const image = await h.images.resolve(imageId);
      for (const layer of image.manifest.layers) expect(await h.content.has(layer.digest)).toBe(true);
      expect(await h.sh(imageId, script)).toBe(output);
    };
    const first = await h.build(dir);
    // The cache's lease keeps its blobs: removing the only image that has them deletes none.
    const copyLayer = (await h.images.resolve(first.imageId)).manifest.layers.at(-2)!.digest;
    await h.images.remove(first.imageId, { force: true });
    expect(await h.content.has(copyLayer)).toBe(true);
    await h.content.delete(copyLayer);

    // Fully cached: found out before the export, and solved again with the COPY run.
    let lines: string[] = [];
    const again = await h.build(dir, {}, lines);
    expect(steps(lines).ran).toContain('COPY lost.txt /lost.txt');
    await expectWhole(again.imageId, 'cat /copy', unique);

    // A step after the lost one runs: found out before it stacks on the lost layer.
    await loseCopyLayer(again.imageId);
    await writeFile(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY lost.txt /lost.txt\nRUN cat /lost.txt /lost.txt > /copy\n');
    lines = [];
    const changed = await h.build(dir, {}, lines);
    expect(steps(lines).ran).toEqual(['COPY lost.txt /lost.txt', 'RUN cat /lost.txt /lost.txt > /copy']);
    await expectWhole(changed.imageId, 'cat /copy', unique + unique);
  });

  it('sends a rebuilt image config again when the image its tag named went during the build', async () => {
    const dir = await h.context({ Dockerfile: `FROM busybox\nRUN echo ${Date.now()} > /stamp\n` });
    const first = await h.build(dir, { tags: ['export-skip:1'] });
    await h.images.remove(first.imageId, { force: true });
    expect(await h.content.has(first.imageId)).toBe(false); // its config blob went with it
    // A builder that saw the tag name the image just before it went: it skips the config, the registration finds it missing.
    const images = {
      ...h.worker.images,
      get: async (ref: string) => (ref === 'export-skip:1' ? { ...(await h.worker.images.get('busybox')), id: first.imageId } : h.worker.images.get(ref)),
    };
    const builder = new Builder({ worker: Object.assign(Object.create(h.worker) as typeof h.worker, { images }), workDir: join(h.dataRoot, 'builder') });
    try {
      const again = await builder.build({ context: tarStream(dir), tags: ['export-skip:1'] });
      expect(again.imageId).toBe(first.imageId);
      expect(await h.content.has(first.imageId)).toBe(true);
      expect(await h.sh('export-skip:1', 'cat /stamp')).toMatch(/^\d+\n$/);
    } finally {
      builder.close();
    }
  });

  it('gives the result once the image is registered, before the build lease ends', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\nLABEL early=answer\n' });
    const events: string[] = [];
    const leases = {
      ...h.worker.leases,
      delete: async (id: string) => {
        await h.worker.leases.delete(id);
        events.push('lease end');
      },
    };
    const images = { ...h.worker.images, register: async (...args: Parameters<typeof h.worker.images.register>) => ((events.push('register'), await h.worker.images.register(...args))) };
    const builder = new Builder({ worker: Object.assign(Object.create(h.worker) as typeof h.worker, { leases, images }), workDir: join(h.dataRoot, 'builder') });
    try {
      let early: string | undefined;
      const result = await builder.build({ context: tarStream(dir), tags: ['early-answer:1'] }, { onResult: (r) => void events.push(`result ${(early = r.imageId)}`) });
      expect(early).toBe(result.imageId);
      expect(events).toEqual(['register', `result ${result.imageId}`, 'lease end']);
    } finally {
      builder.close();
    }
  });
});

describe('EXPOSE', () => {
  it('exposes every port of a range, lower-cases the protocol and refuses a bad port naming the line', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\nARG PORTS="8080-8081 53/UDP"\nEXPOSE $PORTS 9000/tcp\n' });
    const { imageId } = await h.build(dir);
    expect((await h.images.resolve(imageId)).config.config?.ExposedPorts).toEqual({ '8080/tcp': {}, '8081/tcp': {}, '53/udp': {}, '9000/tcp': {} });
    const bad = await h.context({ Dockerfile: 'FROM busybox\nEXPOSE 80a\n' });
    await expectError(h.build(bad), InvalidArgumentError, 'Dockerfile:2: EXPOSE 80a: invalid containerPort: 80a');
  });
});

describe('errors', () => {
  it('names the line of an unknown instruction', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\n\nFORM busybox\n' });
    await expectError(h.build(dir), InvalidArgumentError, 'dockerfile parse error on line 3: unknown instruction: FORM (did you mean FROM?)');
  });

  it('names the line of a bad JSON form', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\nSHELL /bin/bash -c\n' });
    await expectError(h.build(dir), InvalidArgumentError, 'dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form');
  });

  it('names the line of a COPY of a missing file', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\nCOPY missing.txt /x\n' });
    const err = await h.build(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe('Dockerfile:2: COPY missing.txt /x: "missing.txt" not found');
  });

  it('refuses a COPY from outside the context', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\nWORKDIR /app\nCOPY ../secret.txt .\n' });
    await expectError(h.build(dir), InvalidArgumentError, 'Dockerfile:3: COPY ../secret.txt .: forbidden path outside the build context: "../secret.txt"');
  });

  it('shows the output, exit code and line of a failing RUN, and leaves nothing behind', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\nRUN echo visible output && exit 7\n' });
    const lines: string[] = [];
    const err = await h.build(dir, {}, lines).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toBe(
      'Dockerfile:2: RUN echo visible output && exit 7: process "/bin/sh -c echo visible output && exit 7" did not complete successfully: exit code: 7',
    );
    expect(lines.some((l) => /^#5 \d+\.\d{3} visible output$/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^#5 ERROR: process/);
    const snapshots = await h.snapshotter.list();
    expect(snapshots.filter((s) => s.key.startsWith('build-'))).toEqual([]);
    expect(await h.runtime.list()).toEqual([]);
  });

  it('names the FROM line of a base image that is not here', async () => {
    const dir = await h.context({ Dockerfile: '# comment\nFROM nosuch:1\n' });
    await expectError(h.build(dir), NotFoundError, `Dockerfile:2: FROM nosuch:1: base image "nosuch:1" is not in this host's image store (pull or bootstrap it first)`);
  });

  it('refuses a COPY --from the stage it is in, by name, index or ARG, naming the line', async () => {
    const byName = await h.context({ Dockerfile: 'FROM busybox AS app\nRUN true\nCOPY --from=app /bin/sh /sh\n' });
    await expectError(h.build(byName), InvalidArgumentError, 'Dockerfile:3: COPY --from=app /bin/sh /sh: circular dependency detected on stage: "app" (a stage cannot copy from itself)');
    const byIndex = await h.context({ Dockerfile: 'FROM busybox\nFROM busybox\nCOPY --from=1 /bin/sh /sh\n' });
    await expectError(h.build(byIndex), InvalidArgumentError, 'Dockerfile:3: COPY --from=1 /bin/sh /sh: circular dependency detected on stage: "1" (a stage cannot copy from itself)');
    const byArg = await h.context({ Dockerfile: 'FROM busybox AS app\nARG FROM_STAGE=app\nCOPY --from=$FROM_STAGE /bin/sh /sh\n' });
    await expectError(
      h.build(byArg),
      InvalidArgumentError,
      'Dockerfile:3: COPY --from=$FROM_STAGE /bin/sh /sh: circular dependency detected on stage: "app" (a stage cannot copy from itself)',
    );
  });

  it('quotes at most 1,000 characters of a long instruction and 200 of a value in its error', async () => {
    const dir = await h.context({ Dockerfile: `FROM busybox\nCOPY ${'x'.repeat(5000)} /x\n` });
    await expectError(h.build(dir), NotFoundError, `Dockerfile:2: COPY ${'x'.repeat(995)}…: "${'x'.repeat(200)}…" not found`);
    const stage = await h.context({ Dockerfile: `FROM busybox\nCOPY --from=${'s'.repeat(5000)} /a /b\n` });
    const err = await h.build(stage).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message.length).toBeLessThan(1300);
    expect(err?.message).toMatch(/^Dockerfile:2: COPY --from=s{988}…: /);
  });

  it('warns about unused build args', async () => {
    const dir = await h.context({ Dockerfile: 'FROM busybox\nARG USED\n' });
    const result = await h.build(dir, { buildArgs: { USED: 'x', UNUSED: 'y', HTTP_PROXY: 'http://proxy' } });
    expect(result.warnings).toEqual(['[Warning] One or more build-args [UNUSED] were not consumed']);
  });
});

