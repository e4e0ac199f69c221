import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContainersService, type CreateContainerRequest, type StreamInput, type StreamOutput } from '@berth/proto';
import { tempDir, type TempDir } from '@berth/testing';
import { runCliCaptured } from '../test-support.js';

/**
 * Attached `berth run` against a fake gateway: one RunAttached call (created, output, exit code,
 * stdin held until the container exists), and a platform without RunAttached (UNIMPLEMENTED), where
 * the CLI creates, then attaches with `start`, as it did before.
 */

type Duplex = grpc.ServerDuplexStream<StreamInput, StreamOutput>;
const ID = 'c0ffee'.padEnd(64, '0');

/** A container's life on the fake: stdout, then what stdin brought (until its end), then exit code 7. */
function serveAttach(call: Duplex, after: StreamInput[]): void {
  let input = '';
  call.on('data', (m: StreamInput) => {
    after.push(m);
    if (m.input?.$case === 'stdin') input += m.input.value.toString();
    if (m.input?.$case === 'closeStdin') {
      call.write({ output: { $case: 'stdout', value: Buffer.from(`got ${input}\n`) } });
      call.write({ output: { $case: 'exitCode', value: 7 } });
      call.end();
    }
  });
}

describe('attached run', () => {
  let dir: TempDir;
  let server: grpc.Server;
  let host: string;
  const seen: { runAttached: StreamInput[]; created: CreateContainerRequest[]; attach: StreamInput[] } = { runAttached: [], created: [], attach: [] };

  const start = async (handlers: grpc.UntypedServiceImplementation) => {
    server = new grpc.Server();
    server.addService(ContainersService, handlers);
    host = `unix://${join(dir.path, 'api.sock')}`;
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${join(dir.path, 'api.sock')}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  };

  beforeEach(() => {
    dir = tempDir('berth-run-test-');
    seen.runAttached = [];
    seen.created = [];
    seen.attach = [];
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    dir.remove();
  });

  it('creates, attaches and starts in one RunAttached call; stdin goes out once the container exists', async () => {
    await start({
      runAttached: (call: Duplex) => {
        call.once('data', (first: StreamInput) => {
          seen.runAttached.push(first);
          serveAttach(call, seen.runAttached);
          // A create that takes a while: a client that did not hold its input would send it meanwhile.
          setTimeout(() => {
            beforeCreated = seen.runAttached.length - 1;
            call.write({ output: { $case: 'created', value: { id: ID, warnings: ['careful'] } } });
          }, 200);
        });
      },
    });
    let beforeCreated: number | undefined;
    const cid = join(dir.path, 'cid');
    const r = await runCliCaptured(['-H', host, 'run', '--rm', '-i', '--cidfile', cid, 'busybox', 'cat'], { stdin: 'hello' });
    expect(r).toEqual({ code: 7, stdout: 'got hello\n', stderr: 'WARNING: careful\n' });
    expect(readFileSync(cid, 'utf8')).toBe(ID);
    const [first, ...rest] = seen.runAttached;
    expect(first?.input?.$case).toBe('attach');
    const attach = first?.input?.$case === 'attach' ? first.input.value : undefined;
    expect(attach).toMatchObject({ stdin: true, start: true, create: { image: 'busybox', cmd: ['cat'], autoRemove: true, openStdin: true } });
    expect(rest.map((m) => m.input?.$case)).toEqual(['stdin', 'closeStdin']);
    expect(beforeCreated).toBe(0);
  });

  it('creates, then attaches with start, on a platform without RunAttached', async () => {
    await start({
      create: (call: grpc.ServerUnaryCall<CreateContainerRequest, unknown>, done: grpc.sendUnaryData<unknown>) => {
        seen.created.push(call.request);
        done(null, { id: ID, warnings: [], started: false });
      },
      attach: (call: Duplex) => {
        call.once('data', (first: StreamInput) => {
          seen.attach.push(first);
          serveAttach(call, seen.attach);
        });
      },
    });
    const r = await runCliCaptured(['-H', host, 'run', '-i', 'busybox', 'cat'], { stdin: 'again' });
    expect(r).toEqual({ code: 7, stdout: 'got again\n', stderr: '' });
    expect(seen.created.map((c) => [c.start, c.spec?.image])).toEqual([[false, 'busybox']]);
    const attach = seen.attach[0]?.input?.$case === 'attach' ? seen.attach[0].input.value : undefined;
    expect(attach).toMatchObject({ container: ID, stdin: true, start: true, create: undefined });
    expect(seen.attach.slice(1).map((m) => m.input?.$case)).toEqual(['stdin', 'closeStdin']);
  });

  it("run -t creates the container with the terminal's size (docker's HostConfig.ConsoleSize), then resizes as docker does", async () => {
    await start({
      runAttached: (call: Duplex) => {
        call.once('data', (first: StreamInput) => {
          seen.runAttached.push(first);
          call.write({ output: { $case: 'created', value: { id: ID, warnings: [] } } });
          const exit = () => (call.write({ output: { $case: 'exitCode', value: 0 } }), call.end());
          // A client with a terminal sends its size after `created`; one without sends nothing.
          if (first.input?.$case === 'attach' && !first.input.value.create?.consoleSize) return exit();
          call.once('data', (m: StreamInput) => {
            seen.runAttached.push(m);
            exit();
          });
        });
      },
    });
    const r = await runCliCaptured(['-H', host, 'run', '-t', 'busybox', 'stty', 'size'], { columns: 100, rows: 30 });
    expect(r.code).toBe(0);
    const [first, second] = seen.runAttached;
    const attach = first?.input?.$case === 'attach' ? first.input.value : undefined;
    expect(attach?.create).toMatchObject({ tty: true, consoleSize: { rows: 30, cols: 100 } });
    expect(second?.input).toEqual({ $case: 'resize', value: { rows: 30, cols: 100 } });
    // Without a terminal on stdout there is no size to give.
    seen.runAttached = [];
    expect((await runCliCaptured(['-H', host, 'run', '-t', 'busybox', 'true'])).code).toBe(0);
    const again = seen.runAttached[0]?.input;
    expect(again?.$case === 'attach' ? again.value.create?.consoleSize : 'no attach').toBeUndefined();
  });

  it('exits with the create\'s failure, 125, and no container id, when RunAttached fails before `created`', async () => {
    await start({
      runAttached: (call: Duplex) => {
        call.once('data', () => {
          const metadata = new grpc.Metadata();
          call.emit('error', Object.assign(new Error('x'), { code: grpc.status.ABORTED, details: 'Conflict. The container name "/web" is already in use', metadata }));
        });
      },
    });
    const cid = join(dir.path, 'cid');
    const r = await runCliCaptured(['-H', host, 'run', '--name', 'web', '--cidfile', cid, 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('Conflict. The container name "/web" is already in use');
    expect(() => readFileSync(cid)).toThrow(); // discarded, as after a failed create
  });
});
