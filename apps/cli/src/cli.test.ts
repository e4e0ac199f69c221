import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { NotFoundError, PermissionDeniedError, UnavailableError } from '@berth/errors';
import {
  callFailureOf,
  ContainersService,
  handleServerStream,
  handleUnary,
  ImagesService,
  VolumesService,
  NetworksService,
  type CreateContainerRequest,
  type StreamInput,
  type StreamOutput,
} from '@berth/proto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CliRun, runCliCaptured, webContainer, webContainerId } from './test-support.js';
import { daemonMessage, isConnectionError } from './cli-errors.js';

/**
 * The CLI against a tiny in-process gateway (grpc-js Server with the generated service
 * definitions): flags must become the right requests, and answers/errors docker's output.
 */

const id = webContainerId;
const calls: Array<{ method: string; request: unknown }> = [];
const record = (method: string, request: unknown) => calls.push({ method, request });

const summary = webContainer({ command: 'sleep 100', created: Math.floor(Date.now() / 1000) - 5 * 3600, status: 'Up 9 seconds' });

/** Attach/Exec: answers the first message with output, echoes stdin, then sends the exit code. */
function fakeStream(method: string) {
  return (call: grpc.ServerDuplexStream<StreamInput, StreamOutput>) => {
    let stdin = '';
    call.on('data', (message: StreamInput) => {
      const input = message.input;
      if (!input) return;
      if (input.$case === 'attach' || input.$case === 'exec') {
        record(method, input.value);
        call.write({ output: { $case: 'stdout', value: Buffer.from('hello\n') } });
        call.write({ output: { $case: 'stderr', value: Buffer.from('warning\n') } });
        const wantsStdin = input.$case === 'attach' ? input.value.stdin : input.value.stdin;
        if (!wantsStdin) {
          call.write({ output: { $case: 'exitCode', value: 3 } });
          call.end();
        }
      } else if (input.$case === 'stdin') {
        stdin += input.value.toString();
      } else if (input.$case === 'closeStdin') {
        call.write({ output: { $case: 'stdout', value: Buffer.from(`got ${stdin}`) } });
        call.write({ output: { $case: 'exitCode', value: 0 } });
        call.end();
      }
    });
  };
}

let server: grpc.Server;
let address: string;
let socketDir: string;

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(ContainersService, {
    create: handleUnary(async (req: CreateContainerRequest) => {
      record('create', req);
      if (req.spec?.image === 'nope') throw new NotFoundError('No such image: nope:latest');
      // `start` as the agent does it; the image `older` stands for an agent that does not know it.
      if (!req.start || req.spec?.image === 'older') return { id, warnings: [], started: false, startFailure: undefined };
      if (req.spec?.cmd[0] !== 'nosuch') return { id, warnings: [], started: true, startFailure: undefined };
      const failure = callFailureOf(new NotFoundError('exec: "nosuch": executable file not found in $PATH', { code: 'COMMAND_NOT_FOUND' }));
      return { id, warnings: [], started: false, startFailure: failure };
    }),
    start: handleUnary(async (req) => {
      record('start', req);
      return {};
    }),
    remove: handleUnary(async (req: { id: string }) => {
      record('remove', req);
      if (req.id === 'web') throw new NotFoundError('No such container: web');
      return {};
    }),
    list: handleUnary(async (req) => {
      record('list', req);
      return { containers: [summary] };
    }),
    inspect: handleUnary(async (req: { id: string }) => {
      if (req.id !== 'web') throw new NotFoundError(`No such container: ${req.id}`);
      return { json: JSON.stringify({ Id: id, Name: '/web', State: { Status: 'running' }, Config: { Tty: false, OpenStdin: false, Labels: { a: '<b>' } } }) };
    }),
    attach: fakeStream('attach'),
    exec: fakeStream('exec'),
    prune: handleUnary(async (req) => {
      record('container.prune', req);
      return { deleted: [id], spaceReclaimed: 3000 };
    }),
  } as grpc.UntypedServiceImplementation);
  server.addService(ImagesService, {
    inspect: handleUnary(async (req: { ref: string }) => {
      if (req.ref !== 'busybox') throw new NotFoundError(`No such image: ${req.ref}`);
      return { json: JSON.stringify({ Id: 'sha256:' + 'a'.repeat(64), RepoTags: ['busybox:latest'] }) };
    }),
    pull: handleServerStream(async function* (req: { ref: string }) {
      record('pull', req);
      throw new PermissionDeniedError(`pull access denied for nope, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`);
    }),
    prune: handleUnary(async (req) => {
      record('image.prune', req);
      return { deleted: [{ untagged: 'old:1', deleted: '' }, { untagged: '', deleted: 'sha256:' + 'b'.repeat(64) }], spaceReclaimed: 0 };
    }),
  } as grpc.UntypedServiceImplementation);
  server.addService(VolumesService, {
    inspect: handleUnary(async (req: { name: string }) => {
      throw new NotFoundError(`get ${req.name}: no such volume`);
    }),
    prune: handleUnary(async (req) => {
      record('volume.prune', req);
      return { deleted: [], spaceReclaimed: 0 };
    }),
  } as grpc.UntypedServiceImplementation);
  server.addService(NetworksService, {
    inspect: handleUnary(async (req: { id: string }) => {
      record('network.inspect', req);
      if (req.id !== 'backend') throw new NotFoundError(`network ${req.id} not found`);
      return { json: JSON.stringify({ Name: 'backend', Driver: 'bridge' }) };
    }),
    prune: handleUnary(async (req) => {
      record('network.prune', req);
      return { deleted: ['old-net'] };
    }),
  } as grpc.UntypedServiceImplementation);
  // A unix socket, as the real gateway's (the CLI speaks TCP only with TLS).
  socketDir = mkdtempSync(join(tmpdir(), 'berth-cli-test-'));
  address = `unix:${join(socketDir, 'api.sock')}`;
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  rmSync(socketDir, { recursive: true, force: true });
});

beforeEach(() => {
  calls.length = 0;
});

function berth(args: string[], options: { stdin?: string } = {}): Promise<CliRun> {
  return runCliCaptured(['-H', address, ...args], { ...options, env: { PATH: '/bin', FROM_HOST: 'yes' } });
}

describe('berth against a gateway', () => {
  it('run -d maps the flags to the create request, starts in the same call, and prints the full id', async () => {
    const r = await berth(['run', '-d', '--rm', '--name', 'web', '-e', 'A=1', '-eFROM_HOST', '-e', 'UNSET', '-l', 'tier=web', '-m', '64m', '--cpus', '1.5',
      '--pids-limit', '-1', '-w', '/tmp', '-u', '1000:1000', '--stop-timeout', '5', '--entrypoint', '', 'busybox', 'sleep', '-x', '10']);
    expect(r).toEqual({ code: 0, stdout: `${id}\n`, stderr: '' });
    expect(calls.map((c) => c.method)).toEqual(['create']);
    expect(calls[0]!.request).toEqual({
      start: true,
      spec: expect.objectContaining({
        image: 'busybox',
        name: 'web',
        cmd: ['sleep', '-x', '10'],
        entrypoint: { args: [] },
        env: ['A=1', 'FROM_HOST=yes'],
        labels: { tier: 'web' },
        workingDir: '/tmp',
        user: '1000:1000',
        autoRemove: true,
        tty: false,
        openStdin: false,
        restartPolicy: { name: 'no', maximumRetryCount: 0 },
        resources: expect.objectContaining({ memory: 64 * 1024 * 1024, nanoCpus: 1_500_000_000, pidsLimit: 0, memorySwap: 0 }),
        stopTimeout: 5,
      }),
    });
  });

  it('run -d starts what a platform that does not start on create left created', async () => {
    const r = await berth(['run', '-d', 'older', 'sleep', '10']);
    expect(r).toEqual({ code: 0, stdout: `${id}\n`, stderr: '' });
    expect(calls.map((c) => c.method)).toEqual(['create', 'start']);
    expect(calls[1]!.request).toEqual({ id });
  });

  it("run -d reports a failed start as docker run: the daemon's message, 127 for a missing command, no id", async () => {
    const r = await berth(['run', '-d', 'busybox', 'nosuch']);
    expect(r).toEqual({ code: 127, stdout: '', stderr: 'berth: Error response from daemon: exec: "nosuch": executable file not found in $PATH\n' });
    expect(calls.map((c) => c.method)).toEqual(['create']);
  });

  it('run attaches, keeps stdout and stderr apart, and exits with the container status', async () => {
    const r = await berth(['run', 'busybox', 'sh']);
    expect(r).toEqual({ code: 3, stdout: 'hello\n', stderr: 'warning\n' });
    expect(calls.map((c) => c.method)).toEqual(['create', 'attach']);
    expect(calls[1]!.request).toEqual({ container: id, stdin: false, logs: false, stream: true, start: true });
  });

  it('run -i forwards stdin and closes it at its end', async () => {
    const r = await berth(['run', '-i', 'busybox', 'cat'], { stdin: 'abc' });
    expect(r).toEqual({ code: 0, stdout: 'hello\ngot abc', stderr: 'warning\n' });
    expect(calls[0]!.request).toMatchObject({ spec: { openStdin: true, stdinOnce: true } });
  });

  it('run reports a daemon error on one line, exit 125', async () => {
    const r = await berth(['run', '--pull', 'never', 'nope']);
    expect(r).toEqual({ code: 125, stdout: '', stderr: 'berth: Error response from daemon: No such image: nope:latest\n' });
  });

  it('run pulls an image missing locally, as docker run does', async () => {
    const r = await berth(['run', 'nope']);
    expect(r).toEqual({
      code: 125,
      stdout: '',
      stderr:
        "Unable to find image 'nope:latest' locally\n" +
        "berth: Error response from daemon: pull access denied for nope, repository does not exist or may require 'docker login': denied: requested access to the resource is denied\n",
    });
    expect(calls.map((c) => c.method)).toEqual(['create', 'pull']);
    expect(calls[1]!.request).toMatchObject({ ref: 'docker.io/library/nope:latest', allTags: false });
  });

  it('run rejects --rm with a restart policy and an unknown flag, exit 125', async () => {
    expect(await berth(['run', '--rm', '--restart', 'always', 'busybox'])).toEqual({
      code: 125,
      stdout: '',
      stderr: "berth: conflicting options: cannot specify both --restart and --rm\n\nRun 'berth run --help' for more information\n",
    });
    expect(await berth(['run', '--foo', 'busybox'])).toEqual({
      code: 125,
      stdout: '',
      stderr: "unknown flag: --foo\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information\n",
    });
    expect(calls).toEqual([]);
  });

  it('exec sends the exec spec first and exits with the command status', async () => {
    const r = await berth(['exec', '-e', 'X=1', '-w', '/', 'web', 'ls', '-l']);
    expect(r.code).toBe(3);
    expect(calls[0]).toEqual({
      method: 'exec',
      request: { container: 'web', cmd: ['ls', '-l'], env: ['X=1'], workingDir: '/', user: '', tty: false, stdin: false, detach: false, privileged: false },
    });
  });

  it('ps lists with docker columns, -q prints short ids, -a/-n map to the request', async () => {
    const r = await berth(['ps']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('CONTAINER ID   IMAGE     COMMAND       CREATED       STATUS         PORTS     NAMES');
    expect(r.stdout.split('\n')[1]).toBe('f1e2d3c4b5a6   busybox   "sleep 100"   5 hours ago   Up 9 seconds             web');
    expect((await berth(['ps', '-q'])).stdout).toBe('f1e2d3c4b5a6\n');
    expect((await berth(['container', 'ls', '--no-trunc', '--format', '{{.ID}}'])).stdout).toBe(`${id}\n`);
    calls.length = 0;
    await berth(['ps', '-a', '--filter', 'status=exited', '-n', '2']);
    expect(calls[0]!.request).toEqual({ all: true, limit: 2, latest: false, filters: [{ key: 'status', value: 'exited' }], size: false });
    const bad = await berth(['ps', '--format', '{{.Foo}}']);
    expect(bad).toEqual({
      code: 1,
      stdout: '',
      stderr: 'failed to execute template: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext\n',
    });
  });

  it('rm maps -f and reports a missing container as docker does, exit 1', async () => {
    const r = await berth(['rm', '-f', 'other', 'web']);
    expect(r).toEqual({ code: 1, stdout: 'other\n', stderr: 'Error response from daemon: No such container: web\n' });
    expect(calls.map((c) => c.request)).toEqual([
      { id: 'other', force: true, volumes: false },
      { id: 'web', force: true, volumes: false },
    ]);
  });

  it('inspect prints what it finds as an indented JSON array and the missing ones as errors', async () => {
    const r = await berth(['inspect', 'web', 'busybox', 'ghost']);
    expect(r.code).toBe(1);
    const found = JSON.parse(r.stdout) as Array<{ Id: string }>;
    expect(found.map((o) => o.Id)).toEqual([id, 'sha256:' + 'a'.repeat(64)]);
    expect(r.stdout).toContain('\n    {\n        "Id"');
    expect(r.stdout).toContain('"\\u003cb\\u003e"');
    expect(r.stderr).toBe('Error: No such object: ghost\n');
    expect(await berth(['inspect', '-f', '{{.State.Status}} {{index .Config.Labels "a"}}', 'web'])).toEqual({ code: 0, stdout: 'running <b>\n', stderr: '' });
    expect(await berth(['inspect', 'ghost'])).toEqual({ code: 1, stdout: '[]\n', stderr: 'Error: No such object: ghost\n' });
    expect(await berth(['image', 'inspect', '--format', '{{.RepoTags}}', 'busybox'])).toEqual({ code: 0, stdout: '[busybox:latest]\n', stderr: '' });
    // networks are objects too, tried after containers, images and volumes (as docker inspect does)
    expect(await berth(['inspect', '--format', '{{.Name}} {{.Driver}}', 'backend'])).toEqual({ code: 0, stdout: 'backend bridge\n', stderr: '' });
    expect(await berth(['inspect', '--type', 'network', 'ghost'])).toEqual({ code: 1, stdout: '[]\n', stderr: 'Error: No such network: ghost\n' });
  });

  it("prune asks with docker's warning (with -a its other one), sends --all to the kinds that have it, and reports as docker", async () => {
    const question = 'Are you sure you want to continue? [y/N] ';
    expect(await berth(['image', 'prune'], { stdin: 'n\n' })).toEqual({ code: 0, stdout: `WARNING! This will remove all dangling images.\n${question}`, stderr: '' });
    expect(calls).toEqual([]);
    const images = await berth(['image', 'prune', '-a', '--filter', 'label=x'], { stdin: 'y\n' });
    expect(images).toEqual({
      code: 0,
      stdout: `WARNING! This will remove all images without at least one container associated to them.\n${question}Deleted Images:\nuntagged: old:1\ndeleted: sha256:${'b'.repeat(64)}\n\nTotal reclaimed space: 0B\n`,
      stderr: '',
    });
    expect((await berth(['volume', 'prune'], { stdin: 'n\n' })).stdout).toBe(`WARNING! This will remove anonymous local volumes not used by at least one container.\n${question}`);
    expect((await berth(['volume', 'prune', '-a'], { stdin: 'n\n' })).stdout).toBe(`WARNING! This will remove all local volumes not used by at least one container.\n${question}`);
    expect((await berth(['volume', 'prune', '-f'])).stdout).toBe('Total reclaimed space: 0B\n');
    expect((await berth(['container', 'prune'], { stdin: 'yes\n' })).stdout).toBe(
      `WARNING! This will remove all stopped containers.\n${question}Deleted Containers:\n${id}\n\nTotal reclaimed space: 3kB\n`,
    );
    // Networks free no space: no total.
    expect((await berth(['network', 'prune', '-f'])).stdout).toBe('Deleted Networks:\nold-net\n\n');
    expect(calls).toEqual([
      { method: 'image.prune', request: { all: true, filters: [{ key: 'label', value: 'x' }] } },
      { method: 'volume.prune', request: { all: false, filters: [] } },
      { method: 'container.prune', request: { filters: [] } },
      { method: 'network.prune', request: { filters: [] } },
    ]);
  });

  it('reports an unreachable gateway plainly', async () => {
    const { code, stderr: err } = await runCliCaptured(['ps'], { env: { BERTH_HOST: 'unix:/nonexistent/berth.sock' } });
    expect({ code, err }).toEqual({ code: 1, err: 'Cannot connect to the Berth platform at unix:/nonexistent/berth.sock. Is the platform running?\n' });
  });

  it('refuses a TCP gateway without TLS, and names a missing TLS file', async () => {
    const run = async (argv: string[]) => {
      const { code, stderr: err } = await runCliCaptured(argv);
      return { code, err };
    };
    expect(await run(['-H', 'tcp://127.0.0.1:2376', 'ps'])).toEqual({
      code: 1,
      err: 'Cannot connect to the Berth platform at tcp://127.0.0.1:2376 without TLS: the gateway serves TCP only with client certificates; add --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY\n',
    });
    expect(await run(['-H', 'tcp://127.0.0.1:2376', '--tlsverify', '--tlscacert', '/nonexistent/ca.pem', '--tlscert', '/x', '--tlskey', '/y', 'ps'])).toEqual({
      code: 1,
      err: 'Cannot read --tlscacert "/nonexistent/ca.pem": ENOENT: no such file or directory, open \'/nonexistent/ca.pem\'\n',
    });
  });
});

describe('connection errors', () => {
  const unavailable = (details: string) => new UnavailableError(`Cannot connect to the Berth platform: ${details}`);
  it('says "permission denied on <socket>" when the socket is not for this user', () => {
    const err = unavailable('No connection established. Last error: Error: connect EACCES /run/berth/api.sock. Resolution note: ');
    expect(isConnectionError(err)).toBe(true);
    expect(daemonMessage(err, 'unix:/run/berth/api.sock')).toBe(
      'Cannot connect to the Berth platform at unix:/run/berth/api.sock: permission denied on /run/berth/api.sock (run as root, or as a member of the group set with `berth platform up --group`)',
    );
  });

  it('asks whether the platform runs only when nothing listens', () => {
    for (const details of ['No connection established. Last error: Error: connect ENOENT /x.sock. Resolution note: ', 'connect ECONNREFUSED 127.0.0.1:1']) {
      expect(daemonMessage(unavailable(details), 'unix:/x.sock')).toBe('Cannot connect to the Berth platform at unix:/x.sock. Is the platform running?');
    }
  });
});

describe('the berth launcher', () => {
  it('prints the version from any directory', async () => {
    const launcher = fileURLToPath(new URL('../../../berth', import.meta.url));
    const { stdout } = await promisify(execFile)(launcher, ['--version'], { cwd: '/' });
    expect(stdout).toMatch(/^Berth version \d+\.\d+\.\d+\n$/);
  });

  it('starts Node without NODE_EXTRA_CA_CERTS and hands it back to what the command starts', async () => {
    const launcher = fileURLToPath(new URL('../../../berth', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'berth-launcher-'));
    try {
      // A preload sees the environment Node started with, and at exit the one the command's children get.
      const probe = join(dir, 'probe.cjs');
      writeFileSync(
        probe,
        `const seen = { atStart: process.env.NODE_EXTRA_CA_CERTS ?? null };
         process.on('exit', () => {
           seen.atExit = process.env.NODE_EXTRA_CA_CERTS ?? null;
           seen.handover = process.env.BERTH_EXTRA_CA_CERTS ?? null;
           require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'seen.json'))}, JSON.stringify(seen));
         });`,
      );
      const run = (extra: Record<string, string>) => {
        const env: NodeJS.ProcessEnv = { ...process.env, ...extra, NODE_OPTIONS: `--require ${probe}` };
        if (!('NODE_EXTRA_CA_CERTS' in extra)) delete env.NODE_EXTRA_CA_CERTS;
        return promisify(execFile)(launcher, ['--version'], { cwd: '/', env }).then(() => JSON.parse(readFileSync(join(dir, 'seen.json'), 'utf8')));
      };
      expect(await run({ NODE_EXTRA_CA_CERTS: '/etc/ssl/my ca.pem' })).toEqual({ atStart: null, atExit: '/etc/ssl/my ca.pem', handover: null });
      expect(await run({})).toEqual({ atStart: null, atExit: null, handover: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
