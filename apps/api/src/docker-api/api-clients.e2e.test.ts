/**
 * The Docker Engine API driven by the Node clients that speak it, against one platform started for
 * the file: dockerode (docker-modem's hijacked attach with stdin, with and without a TTY;
 * `docker.run`'s plain streaming attach; exec with stdin; followed logs demuxed) and
 * testcontainers-node (GenericContainer with exposed ports reached over HTTP on the mapped port;
 * log-message, healthcheck, listening-ports and HTTP wait strategies; restart, exec, logs, stop).
 * Testcontainers runs without Ryuk (its image is on Docker Hub) and finds busybox locally, so it
 * pulls nothing.
 */
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { removeAllContainers, startBusyboxPlatform, until, type TestPlatform } from '@berth/testing';

let p: TestPlatform;
let docker: Docker;

beforeAll(async () => {
  p = await startBusyboxPlatform();
  docker = new Docker({ socketPath: join(p.settings.runRoot, 'docker.sock') });
}, 180_000);

afterAll(async () => {
  await p?.stop();
});

afterEach(async () => {
  if (p) await removeAllContainers(p);
});

/** Collects a stream's text until `done` holds for it, or fails after `timeoutMs`. */
function readUntil(stream: NodeJS.ReadableStream, done: (text: string) => boolean, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for output; got ${JSON.stringify(text)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      text += d.toString('utf8');
      if (done(text)) finish();
    };
    const finish = () => {
      clearTimeout(timer);
      stream.off('data', onData);
      resolve(text);
    };
    stream.on('data', onData);
    stream.once('end', finish);
    stream.once('error', (err) => (clearTimeout(timer), reject(err)));
  });
}

/**
 * A busybox container running `cmd` with its stdin open (closed when the attachment's input ends),
 * attached through a hijacked stream before it starts, as `docker run -i` does.
 */
async function createAttached(cmd: string[], options: { tty?: boolean } = {}): Promise<{ container: Docker.Container; stream: NodeJS.ReadWriteStream }> {
  const container = await docker.createContainer({
    Image: 'busybox',
    Cmd: cmd,
    Tty: options.tty ?? false,
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
  return { container, stream };
}

describe('dockerode', () => {
  it('creates, attaches (hijacked, stdin and demuxed output), starts, waits for and removes a container', async () => {
    const { container, stream } = await createAttached(['sh', '-c', 'while read line; do echo "out:$line"; echo "err:$line" >&2; done; echo bye']);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    docker.modem.demuxStream(stream, stdout, stderr);
    await container.start();
    stream.write('one\n');
    expect(await readUntil(stdout, (t) => t.includes('out:one\n'))).toBe('out:one\n');
    const out = readUntil(stdout, (t) => t.includes('bye\n'));
    const err = readUntil(stderr, (t) => t.includes('err:two\n'));
    stream.write('two\n');
    stream.end();
    expect(await out).toBe('out:two\nbye\n');
    expect(await err).toBe('err:one\nerr:two\n');
    expect(await container.wait()).toEqual({ StatusCode: 0, Error: null });
    await container.remove();
    await expect(container.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('attaches to a container with a TTY: raw output, stdin echoed by the terminal', async () => {
    const { container, stream } = await createAttached(['sh', '-c', 'read line; echo "got:$line"; tty'], { tty: true });
    await container.start();
    const out = readUntil(stream, (t) => /\/dev\/pts\/\d+\r\n/.test(t));
    stream.write('hello\r');
    // The terminal echoes the line and turns each \n into \r\n.
    expect(await out).toMatch(/^hello\r\ngot:hello\r\n\/dev\/pts\/\d+\r\n$/);
    expect((await container.wait()).StatusCode).toBe(0);
    await container.remove();
  });

  it('runs a container with docker.run (a plain streaming attach, then start and wait)', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = readUntil(stdout, () => false);
    const err = readUntil(stderr, () => false);
    // run ends the two streams when the attachment ends.
    const [result, container] = (await docker.run('busybox', ['sh', '-c', 'echo out; echo err >&2; exit 2'], [stdout, stderr], { Tty: false })) as [{ StatusCode: number }, Docker.Container];
    expect(result.StatusCode).toBe(2);
    expect([await out, await err]).toEqual(['out\n', 'err\n']);
    await container.remove();
  });

  it('execs with stdin through a hijacked exec start, and reads its exit code', async () => {
    const container = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '300'] });
    await container.start();
    const exec = await container.exec({ Cmd: ['sh', '-c', 'tr a-z A-Z; echo done >&2; exit 7'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: true });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    docker.modem.demuxStream(stream, stdout, stderr);
    const out = readUntil(stdout, (t) => t.includes('SHOUT\n'));
    const err = readUntil(stderr, (t) => t.includes('done\n'));
    stream.end('shout\n');
    expect([await out, await err]).toEqual(['SHOUT\n', 'done\n']);
    const info = await until(() => exec.inspect(), (i) => !i.Running);
    expect([info.Running, info.ExitCode]).toEqual([false, 7]);
    await container.remove({ force: true });
  });

  it('follows the logs of a running container, demuxed into stdout and stderr', async () => {
    const container = await docker.createContainer({
      Image: 'busybox',
      Cmd: ['sh', '-c', 'for i in 1 2 3; do echo "out $i"; echo "err $i" >&2; sleep 0.2; done'],
    });
    await container.start();
    const logs = await container.logs({ follow: true, stdout: true, stderr: true });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    docker.modem.demuxStream(logs, stdout, stderr);
    const ended = new Promise<void>((resolve) => logs.on('end', resolve));
    const out = readUntil(stdout, (t) => t.includes('out 3\n'));
    const err = readUntil(stderr, (t) => t.includes('err 3\n'));
    expect(await out).toBe('out 1\nout 2\nout 3\n');
    expect(await err).toBe('err 1\nerr 2\nerr 3\n');
    await ended; // follow ends when the container exits
    expect((await container.inspect()).State.Status).toBe('exited');
    await container.remove({ force: true });
  });
});

describe('testcontainers-node', () => {
  let tc: typeof import('testcontainers');

  beforeAll(async () => {
    // Read once, at testcontainers' first use. Its Ryuk image comes from Docker Hub: off.
    process.env['DOCKER_HOST'] = `unix://${join(p.settings.runRoot, 'docker.sock')}`;
    process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
    tc = await import('testcontainers');
  });

  afterAll(() => {
    delete process.env['DOCKER_HOST'];
    delete process.env['TESTCONTAINERS_RYUK_DISABLED'];
  });

  it('starts busybox httpd with an exposed port and a log-message wait, serves a copied file over the mapped port, restarts and stops it', async () => {
    const container = await new tc.GenericContainer('busybox')
      .withCopyContentToContainer([{ content: 'served by busybox\n', target: '/www/index.html' }])
      .withCommand(['sh', '-c', 'echo httpd ready; exec httpd -f -p 8080 -h /www'])
      .withExposedPorts(8080)
      .withWaitStrategy(tc.Wait.forLogMessage('httpd ready'))
      .start();
    try {
      const port = container.getMappedPort(8080);
      expect(port).toBeGreaterThan(0);
      const res = await fetch(`http://${container.getHost()}:${port}/index.html`);
      expect([res.status, await res.text()]).toEqual([200, 'served by busybox\n']);
      // The log wait again, for the lines since the new start (a fractional `since`).
      await container.restart();
      const again = await fetch(`http://${container.getHost()}:${container.getMappedPort(8080)}/index.html`);
      expect(await again.text()).toBe('served by busybox\n');
    } finally {
      await container.stop();
    }
    await expect(docker.getContainer(container.getId()).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('waits for a healthcheck to pass, and fails the start of a container that turns unhealthy', async () => {
    const container = await new tc.GenericContainer('busybox')
      .withCommand(['sh', '-c', 'sleep 1; touch /tmp/healthy; exec sleep 300'])
      .withHealthCheck({ test: ['CMD-SHELL', 'test -f /tmp/healthy'], interval: 500, timeout: 1000, retries: 10, startPeriod: 0 })
      .withWaitStrategy(tc.Wait.forHealthCheck())
      .start();
    try {
      const info = await docker.getContainer(container.getId()).inspect();
      expect(info.State.Health?.Status).toBe('healthy');
      expect(info.Config.Healthcheck).toMatchObject({ Test: ['CMD-SHELL', 'test -f /tmp/healthy'], Interval: 500_000_000 });
    } finally {
      await container.stop();
    }
    const sick = new tc.GenericContainer('busybox')
      .withCommand(['sleep', '300'])
      .withHealthCheck({ test: ['CMD', 'false'], interval: 300, timeout: 1000, retries: 2, startPeriod: 0 })
      .withWaitStrategy(tc.Wait.forHealthCheck());
    await expect(sick.start()).rejects.toThrow('Health check failed: unhealthy');
  });

  it('waits for listening ports and HTTP; exec and logs of a started container', async () => {
    const container = await new tc.GenericContainer('busybox')
      .withCommand(['sh', '-c', 'mkdir -p /www && echo "$GREETING" > /www/index.html && echo serving >&2 && exec httpd -f -p 8080 -h /www'])
      .withEnvironment({ GREETING: 'hello from env' })
      .withExposedPorts(8080)
      .withWaitStrategy(tc.Wait.forAll([tc.Wait.forListeningPorts(), tc.Wait.forHttp('/index.html', 8080).forStatusCode(200)]))
      .start();
    try {
      const url = () => `http://${container.getHost()}:${container.getMappedPort(8080)}/index.html`;
      expect(await (await fetch(url())).text()).toBe('hello from env\n');
      const exec = await container.exec(['sh', '-c', 'cat /www/index.html; echo to-stderr >&2; exit 3']);
      expect([exec.exitCode, exec.stdout, exec.stderr]).toEqual([3, 'hello from env\n', 'to-stderr\n']);
      const logs = await container.logs();
      expect(await readUntil(logs, (t) => t.includes('serving\n'))).toBe('serving\n');
      logs.destroy();
    } finally {
      await container.stop();
    }
  });
});
