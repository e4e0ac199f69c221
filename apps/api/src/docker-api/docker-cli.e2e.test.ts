/**
 * The Docker Engine API driven by the real docker CLI (the 28.x client at /usr/local/bin/docker,
 * DOCKER_HOST=unix://<run-root>/docker.sock) against one platform started for the file: each test
 * asserts the CLI's own output and exit codes. `-it` runs under util-linux `script`, which gives
 * the CLI a terminal.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startTestPlatform, tempDir, type CliResult, type TempDir, type TestPlatform } from '@berth/testing';

const DOCKER = '/usr/local/bin/docker';
let p: TestPlatform;
let socket: string;
let dir: TempDir;

beforeAll(async () => {
  p = await startTestPlatform();
  socket = join(p.settings.runRoot, 'docker.sock');
  dir = tempDir('berth-docker-cli-');
  const boot = await p.berth(['image', 'bootstrap', 'busybox']);
  expect(boot.code, boot.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await p?.stop();
  dir?.remove();
});

afterEach(async () => {
  const ids = (await p.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await p.berth(['rm', '-f', ...ids]);
});

function run(command: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return runCli(command, args, {
    env: { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir.path, 'docker-config'), ...options.env },
    input: options.input ?? '',
  });
}

const docker = (args: string[], options?: { input?: string; env?: Record<string, string> }) => run(DOCKER, args, options);
/** The docker CLI with a terminal (`script -e` exits with the command's status). */
/** docker COMMAND on a terminal of its own (`script`), sized first when `size` ([rows, cols]) is given. */
const dockerTty = (command: string, size?: [number, number]) =>
  run('script', ['-eqc', `${size ? `stty rows ${size[0]} cols ${size[1]}; ` : ''}${DOCKER} ${command}`, '/dev/null']);

function get(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString('utf8'), raw });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('docker CLI against the Docker Engine API', () => {
  it('negotiates the version: version, info, /_ping headers, refused versions', async () => {
    const v = await docker(['version', '--format', '{{.Server.APIVersion}} {{.Server.Platform.Name}} {{.Client.APIVersion}}']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe('1.49 Berth 1.49');
    const info = await docker(['info', '--format', '{{.OSType}} {{.Driver}} {{.Images}}']);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout.trim()).toBe('linux overlay2 1');
    const registries = await docker(['info', '--format', '{{range .RegistryConfig.IndexConfigs}}{{.Name}} {{.Secure}},{{end}}']);
    expect(registries.stdout.trim()).toBe(`127.0.0.1:${p.settings.registryPort} false,docker.io true,`);
    const ping = await get('/v1.41/_ping');
    expect([ping.status, ping.body, ping.headers['api-version'], ping.headers['ostype']]).toEqual([200, 'OK', '1.49', 'linux']);
    const tooNew = await get('/v1.99/version');
    expect(tooNew.status).toBe(400);
    expect(JSON.parse(tooNew.body)).toEqual({ message: 'client version 1.99 is too new. Maximum supported API version is 1.49' });
    // The socket is the gRPC socket's twin: root only without --group.
    expect([statSync(socket).mode & 0o777, statSync(socket).uid]).toEqual([0o600, 0]);
    const missing = await get('/v1.49/nothing/here');
    expect([missing.status, missing.headers['content-type']]).toEqual([404, 'application/json']);
    // A docker context instead of DOCKER_HOST: docker's own way of naming an engine.
    const created = await docker(['context', 'create', 'berth', '--docker', `host=unix://${socket}`], { env: { DOCKER_HOST: '' } });
    expect(created.code, created.stderr).toBe(0);
    const viaContext = await docker(['--context', 'berth', 'version', '--format', '{{.Server.Platform.Name}}'], { env: { DOCKER_HOST: '' } });
    expect([viaContext.code, viaContext.stdout.trim()]).toEqual([0, 'Berth']);
  });

  it('run --rm relays stdout, stderr and the exit code; -i forwards stdin; -it has a terminal of the client\'s size', async () => {
    const r = await docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect([r.code, r.stdout, r.stderr]).toEqual([3, 'out\n', 'err\n']);
    const cat = await docker(['run', '-i', '--rm', 'busybox', 'cat'], { input: 'piped in\n' });
    expect([cat.code, cat.stdout]).toEqual([0, 'piped in\n']);
    // docker's client sends its terminal's size with the create (HostConfig.ConsoleSize): the
    // console starts at that size, so the process's first `stty size` needs no resize to win a race.
    const tty = await dockerTty("run -it --name sized busybox sh -c 'tty; stty size; exit 4'", [30, 100]);
    expect(tty.code, tty.stdout).toBe(4);
    expect(tty.stdout.replace(/\r/g, '')).toContain('/dev/pts/0\n30 100\n');
    expect((await docker(['inspect', '--format', '{{json .HostConfig.ConsoleSize}}', 'sized'])).stdout.trim()).toBe('[30,100]');
    expect((await docker(['rm', 'sized'])).code).toBe(0);
    const missing = await docker(['run', '--rm', 'nosuchimage:1']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain('nosuchimage');
  });

  it('run -d, ps, logs, inspect --format, exec (-i, -it, exit codes), stop, wait, rm', async () => {
    const id = (await docker(['run', '-d', '--name', 'web', 'busybox', 'sh', '-c', 'echo started; echo oops >&2; exec sleep 300'])).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const ps = await docker(['ps', '--format', '{{.ID}} {{.Names}} {{.Image}} {{.State}}']);
    expect(ps.stdout.trim()).toBe(`${id.slice(0, 12)} web busybox running`);
    const logs = await docker(['logs', 'web']);
    expect([logs.code, logs.stdout, logs.stderr]).toEqual([0, 'started\n', 'oops\n']);
    const format = await docker(['inspect', '--format', '{{.Name}} {{.State.Status}} {{.Config.Image}} {{json .Config.Cmd}}', 'web']);
    expect(format.stdout.trim()).toBe('/web running busybox ["sh","-c","echo started; echo oops >&2; exec sleep 300"]');
    expect((await docker(['exec', 'web', 'echo', 'hi'])).stdout).toBe('hi\n');
    expect((await docker(['exec', 'web', 'sh', '-c', 'exit 5'])).code).toBe(5);
    expect((await docker(['exec', '-i', 'web', 'cat'], { input: 'to exec\n' })).stdout).toBe('to exec\n');
    const tty = await dockerTty("exec -it web sh -c 'tty; exit 6'");
    expect([tty.code, tty.stdout.includes('/dev/pts/')]).toEqual([6, true]);
    const stop = await docker(['stop', '-t', '1', 'web']);
    expect([stop.code, stop.stdout]).toEqual([0, 'web\n']);
    expect((await docker(['wait', 'web'])).stdout).toBe('137\n');
    expect((await docker(['ps', '-a', '--format', '{{.Names}} {{.State}}'])).stdout).toBe('web exited\n');
    const rm = await docker(['rm', 'web']);
    expect([rm.code, rm.stdout]).toEqual([0, 'web\n']);
    const gone = await docker(['rm', 'web']);
    expect([gone.code, gone.stderr.trim()]).toEqual([1, 'Error response from daemon: No such container: web']);
  });

  it('a plain (not hijacked) attach streams stdcopy frames until the container exits, as dockerode reads it', async () => {
    await docker(['create', '--name', 'talker', 'busybox', 'sh', '-c', 'echo one; sleep 0.3; echo two >&2; sleep 0.3; echo three']);
    // The answer's head comes once the attachment is in place; the body runs until the container exits.
    const res = await new Promise<{ status: number; type: string; body: Promise<Buffer> }>((resolve, reject) => {
      const req = request({ socketPath: socket, path: '/v1.41/containers/talker/attach?stream=1&stdout=1&stderr=1', method: 'POST' }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (d: Buffer) => chunks.push(d));
        resolve({ status: r.statusCode ?? 0, type: String(r.headers['content-type']), body: new Promise((done) => r.on('end', () => done(Buffer.concat(chunks)))) });
      });
      req.on('error', reject);
      req.end();
    });
    expect([res.status, res.type]).toEqual([200, 'application/vnd.docker.multiplexed-stream']);
    expect((await docker(['start', 'talker'])).code).toBe(0);
    const raw = await res.body;
    const frames: string[] = [];
    for (let at = 0; at < raw.length; ) {
      const size = raw.readUInt32BE(at + 4);
      frames.push(`${raw[at]}:${raw.subarray(at + 8, at + 8 + size).toString()}`);
      at += 8 + size;
    }
    expect(frames.join('')).toBe('1:one\n2:two\n1:three\n');
  });

  it('publishes ports, and wait returns the exit status', async () => {
    const r = await docker(['run', '-d', '--name', 'http', '-p', '127.0.0.1::80', 'busybox', 'sh', '-c', 'mkdir /www; echo served > /www/index.html; exec httpd -f -p 80 -h /www']);
    expect(r.code, r.stderr).toBe(0);
    const port = (await docker(['port', 'http', '80/tcp'])).stdout.trim();
    expect(port).toMatch(/^127\.0\.0\.1:\d+$/);
    let body = '';
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && body === '') {
      body = await fetch(`http://${port}/`).then((res) => res.text(), () => '');
      if (body === '') await new Promise((res) => setTimeout(res, 200));
    }
    expect(body).toBe('served\n');
    await docker(['run', '-d', '--name', 'quits', 'busybox', 'sh', '-c', 'sleep 1; exit 7']);
    expect((await docker(['wait', 'quits'])).stdout).toBe('7\n');
  });

  it('networks and volumes: containers reach each other by name, data outlives a container', async () => {
    expect((await docker(['network', 'create', 'appnet'])).code).toBe(0);
    expect((await docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}}'])).stdout).toContain('appnet bridge');
    expect((await docker(['volume', 'create', 'data'])).stdout).toBe('data\n');
    await docker(['run', '-d', '--name', 'db', '--network', 'appnet', '-v', 'data:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f; exec sleep 300']);
    const ping = await docker(['run', '--rm', '--network', 'appnet', 'busybox', 'ping', '-c', '1', '-W', '5', 'db']);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    await docker(['rm', '-f', 'db']);
    const read = await docker(['run', '--rm', '-v', 'data:/data', 'busybox', 'cat', '/data/f']);
    expect(read.stdout).toBe('kept\n');
    expect((await docker(['volume', 'ls', '--format', '{{.Name}}'])).stdout).toContain('data\n');
    expect((await docker(['volume', 'rm', 'data'])).stdout).toBe('data\n');
    expect((await docker(['network', 'rm', 'appnet'])).stdout).toBe('appnet\n');
    const gone = await docker(['network', 'inspect', 'appnet']);
    expect(gone.code).toBe(1);
  });

  it('images: tag, rmi, save and load, pull from the platform registry', async () => {
    expect((await docker(['tag', 'busybox', 'mine:1'])).code).toBe(0);
    expect((await docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n')).toContain('mine:1');
    expect((await docker(['rmi', 'mine:1'])).stdout).toBe('Untagged: mine:1\n');
    const tar = join(dir.path, 'busybox.tar');
    expect((await docker(['save', '-o', tar, 'busybox'])).code).toBe(0);
    expect(readFileSync(tar).length).toBeGreaterThan(1_000_000);
    const load = await docker(['load', '-i', tar]);
    expect([load.code, load.stdout]).toEqual([0, 'Loaded image: busybox:latest\n']);

    const registry = `127.0.0.1:${p.settings.registryPort}`;
    expect((await p.berth(['tag', 'busybox', `${registry}/lib/bb:1`])).code).toBe(0);
    expect((await p.berth(['push', `${registry}/lib/bb:1`])).code).toBe(0);
    expect((await docker(['rmi', `${registry}/lib/bb:1`])).code).toBe(0);
    const pull = await docker(['pull', `${registry}/lib/bb:1`]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toContain(`Status: Downloaded newer image for ${registry}/lib/bb:1`);
    const missing = await docker(['pull', `${registry}/lib/nope:1`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error response from daemon: manifest for');
  });

  it('build with DOCKER_BUILDKIT=0, then run the image', async () => {
    const ctx = join(dir.path, 'ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nARG WHO=nobody\nRUN echo "built for $WHO" > /built.txt\nCOPY f.txt /f.txt\nCMD ["cat", "/built.txt", "/f.txt"]\n');
    writeFileSync(join(ctx, 'f.txt'), 'from the context\n');
    const build = await docker(['build', '--build-arg', 'WHO=docker', '-t', 'built:1', ctx], { env: { DOCKER_BUILDKIT: '0' } });
    expect(build.code, build.stderr).toBe(0);
    expect(build.stdout).toMatch(/Successfully built [0-9a-f]{12}\nSuccessfully tagged built:1\n$/);
    expect((await docker(['run', '--rm', 'built:1'])).stdout).toBe('built for docker\nfrom the context\n');
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN exit 9\n');
    const failed = await docker(['build', ctx], { env: { DOCKER_BUILDKIT: '0' } });
    expect(failed.code).toBe(1);
  });

  it('cp both ways, events, stats --no-stream, system df', async () => {
    await docker(['run', '-d', '--name', 'box', 'busybox', 'sleep', '300']);
    const src = join(dir.path, 'in.txt');
    writeFileSync(src, 'copied in\n');
    expect((await docker(['cp', src, 'box:/tmp/in.txt'])).code).toBe(0);
    expect((await docker(['exec', 'box', 'cat', '/tmp/in.txt'])).stdout).toBe('copied in\n');
    const out = join(dir.path, 'hostname');
    expect((await docker(['cp', 'box:/etc/hostname', out])).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^[0-9a-f]{12}\n$/);
    const missing = await docker(['cp', 'box:/nonexistent', out]);
    expect([missing.code, missing.stderr.trim()]).toEqual([1, 'Error response from daemon: Could not find the file /nonexistent in container box']);

    // Until now as a Unix time with its fraction: a duration (`--until 0s`) is whole seconds in
    // docker's client, which would cut off the events of the current second.
    const now = (Date.now() / 1000).toFixed(3);
    const events = await docker(['events', '--since', '5m', '--until', now, '--filter', 'container=box', '--format', '{{.Type}} {{.Action}}']);
    expect(events.code, events.stderr).toBe(0);
    expect(events.stdout).toContain('container create\n');
    expect(events.stdout).toContain('container start\n');

    const stats = await docker(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'box']);
    expect([stats.code, stats.stdout]).toEqual([0, 'box 1\n']);
    const df = await docker(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
    expect(df.code, df.stderr).toBe(0);
    expect(df.stdout).toContain('Containers 1\n');
    expect(df.stdout).toMatch(/^Images [1-9]/);
  });

  it('docker-compose 1.29: build, depends_on, ports, a volume, names between services, exec, scale, down -v', async () => {
    const project = join(dir.path, 'proj');
    mkdirSync(join(project, 'web'), { recursive: true });
    writeFileSync(join(project, 'web', 'Dockerfile'), 'FROM busybox\nRUN mkdir /www && echo web-ok > /www/index.html\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n');
    writeFileSync(
      join(project, 'docker-compose.yml'),
      [
        'version: "3.8"',
        'services:',
        '  web:',
        '    build: ./web',
        '    ports: ["127.0.0.1::80"]',
        '    depends_on: [api]',
        '  api:',
        '    image: busybox',
        "    command: sh -c 'mkdir -p /www && echo api-ok > /www/index.html && exec httpd -f -p 80 -h /www'",
        '    volumes: [data:/data]',
        '  client:',
        '    image: busybox',
        "    command: sh -c 'until wget -qO- http://api/; do sleep 0.2; done; exec sleep 300'",
        '    depends_on: [api]',
        'volumes:',
        '  data: {}',
        '',
      ].join('\n'),
    );
    // docker-py builds through POST /build itself (not through the docker CLI).
    const compose = (args: string[]) => run('docker-compose', ['-p', 'proj', '-f', join(project, 'docker-compose.yml'), ...args], { env: { COMPOSE_DOCKER_CLI_BUILD: '0' } });
    try {
      const up = await compose(['up', '-d']);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toContain('Creating proj_web_1');
      const ps = await compose(['ps']);
      expect(ps.stdout).toMatch(/proj_api_1 .* Up/);
      expect(ps.stdout).toMatch(/proj_client_1 .* Up/);
      expect(ps.stdout).toMatch(/proj_web_1 .* Up +127\.0\.0\.1:\d+->80\/tcp/);
      let logs = '';
      for (const deadline = Date.now() + 30_000; Date.now() < deadline && !logs.includes('api-ok'); ) {
        logs = (await compose(['logs', 'client'])).stdout;
      }
      expect(logs).toContain('api-ok');
      const port = (await compose(['port', 'web', '80'])).stdout.trim();
      expect(await fetch(`http://${port}/`).then((r) => r.text())).toBe('web-ok\n');
      expect((await compose(['exec', '-T', 'api', 'cat', '/www/index.html'])).stdout).toBe('api-ok\n');
      expect((await compose(['up', '-d', '--scale', 'client=2'])).code).toBe(0);
      expect((await docker(['ps', '--filter', 'label=com.docker.compose.service=client', '--format', '{{.Names}}'])).stdout.split('\n').filter(Boolean).sort()).toEqual([
        'proj_client_1',
        'proj_client_2',
      ]);
    } finally {
      // -t 1: httpd and sleep, each its container's pid 1, ignore SIGTERM (10 s each way otherwise).
      const down = await compose(['down', '-v', '-t', '1']);
      expect(down.code, down.stderr).toBe(0);
    }
    expect((await docker(['ps', '-aq', '--filter', 'label=com.docker.compose.project=proj'])).stdout).toBe('');
    expect((await docker(['volume', 'ls', '-q'])).stdout).not.toContain('proj_data');
    expect((await docker(['network', 'ls', '--format', '{{.Name}}'])).stdout).not.toContain('proj_default');
  });

  it('berth compose and docker-compose 1.29 recognize each other\'s projects (same labels)', async () => {
    const file = join(dir.path, 'simple.yml');
    writeFileSync(file, 'services:\n  api:\n    image: busybox\n    command: sleep 300\n');
    const dc = (args: string[]) => run('docker-compose', ['-f', file, ...args]);
    const bc = (args: string[]) => p.berth(['compose', '-f', file, ...args]);
    expect((await bc(['-p', 'mixed', 'up', '-d'])).code).toBe(0);
    expect((await dc(['-p', 'mixed', 'ps'])).stdout).toMatch(/mixed-api-1 +sleep 300 +Up/);
    // `berth compose down`, not docker-compose's: `up -d` declared the project, and the compose
    // watcher would bring back containers removed behind its back (docs/docker-api.md).
    expect((await bc(['-p', 'mixed', 'down', '-t', '1'])).code).toBe(0); // sleep, pid 1, ignores SIGTERM
    expect((await docker(['ps', '-aq', '--filter', 'label=com.docker.compose.project=mixed'])).stdout).toBe('');
    expect((await dc(['-p', 'rev', 'up', '-d'])).code).toBe(0);
    expect((await bc(['-p', 'rev', 'ps', '--format', '{{.Name}} {{.Service}} {{.State}}'])).stdout).toBe('rev_api_1 api running\n');
    expect((await bc(['-p', 'rev', 'down', '-t', '1'])).code).toBe(0);
    expect((await docker(['ps', '-aq', '--filter', 'label=com.docker.compose.project=rev'])).stdout).toBe('');
  });
});
