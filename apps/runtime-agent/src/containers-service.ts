import type * as grpc from '@grpc/grpc-js';
import { parseSecurityOpts, type ContainerManager, type HealthStatus } from '@berth/containers';
import { InvalidArgumentError, isBerthError, messageOf, errorOfKind } from '@berth/errors';
import { parseTimeArg } from '@berth/events';
import {
  StreamKind,
  handleServerStream,
  handleUnary,
  failStream,
  type ContainersServer,
  type DataChunk,
  type LogEntry,
  type StreamInput,
  type StreamOutput,
} from '@berth/proto';
import { createOptionsFromSpec, filtersToMap, summaryToProto } from './convert.js';

/**
 * The Containers gRPC service of the agent: each handler validates, calls one ContainerManager
 * method and maps the answer (conversions in convert.ts). Errors keep their class (and so their
 * gRPC code) and message.
 */
export function containersService(manager: ContainerManager): ContainersServer {
  return {
    create: handleUnary(async ({ spec }) => {
      if (!spec) throw new InvalidArgumentError('Create needs a container spec');
      const options = createOptionsFromSpec(spec);
      const id = await manager.create(options);
      // Security options Berth accepts without effect (AppArmor, SELinux labels) are said back.
      return { id, warnings: parseSecurityOpts(options.securityOpt ?? []).warnings };
    }),
    start: handleUnary(async ({ id }) => (await startOrExplain(manager, id), {})),
    stop: handleUnary(async ({ id, timeout }) => (await manager.stop(id, { timeout }), {})),
    kill: handleUnary(async ({ id, signal }) => (await manager.kill(id, { signal: signal || 'SIGKILL' }), {})),
    restart: handleUnary(async ({ id, timeout }) => (await manager.restart(id, { timeout }), {})),
    remove: handleUnary(async ({ id, force, volumes }) => (await manager.remove(id, { force, volumes }), {})),
    pause: handleUnary(async ({ id }) => (await manager.pause(id), {})),
    unpause: handleUnary(async ({ id }) => (await manager.unpause(id), {})),
    wait: handleUnary(async ({ id, condition }) => {
      const statusCode = await manager.wait(id, { condition: (condition || 'not-running') as 'not-running' });
      return { statusCode, error: '' };
    }),
    waitHealth: handleUnary(async ({ id, until, timeoutMs }, call) => {
      for (const status of until) {
        if (!healthStatuses.has(status)) {
          throw new InvalidArgumentError(`Invalid health status "${status}": expected starting, healthy or unhealthy`);
        }
      }
      const controller = new AbortController();
      call.on('cancelled', () => controller.abort());
      return manager.waitHealth(id, { until: until as HealthStatus[], timeoutMs: timeoutMs || undefined, signal: controller.signal });
    }),
    rename: handleUnary(async ({ id, name }) => (await manager.rename(id, name), {})),
    prune: handleUnary(async () => ({ deleted: await manager.prune(), spaceReclaimed: 0 })),
    list: handleUnary(async (req) => {
      const list = await manager.list({ all: req.all, latest: req.latest, limit: req.limit || undefined, filters: filtersToMap(req.filters) });
      return { containers: list.map(summaryToProto) };
    }),
    inspect: handleUnary(async ({ id }) => ({ json: JSON.stringify(await manager.inspect(id)) })),
    logs: handleServerStream((req, call) => logs(manager, req, call)),
    top: handleUnary(async ({ id, psArgs }) => {
      const top = await manager.top(id, psArgs ? psArgs.split(/\s+/).filter(Boolean) : undefined);
      return { titles: top.Titles, processes: top.Processes.map((columns) => ({ columns })) };
    }),
    stats: handleUnary(async ({ id }) => ({ json: JSON.stringify(await manager.stats(id)) })),
    diff: handleUnary(async ({ id }) => ({ changes: await manager.diff(id) })),
    export: handleServerStream(async ({ id }) => chunks(await manager.export(id))),
    attach: (call) => void attach(manager, call),
    exec: (call) => void exec(manager, call),
  };
}

const healthStatuses = new Set(['starting', 'healthy', 'unhealthy']);

/** Docker's exit codes for a command that cannot run: 127 not found, 126 not executable. */
async function startOrExplain(manager: ContainerManager, id: string): Promise<void> {
  try {
    await manager.start(id);
  } catch (err) {
    const message = messageOf(err);
    const code = /executable file not found|no such file or directory/i.test(message)
      ? 'COMMAND_NOT_FOUND'
      : /permission denied|not executable/i.test(message)
        ? 'COMMAND_NOT_EXECUTABLE'
        : undefined;
    if (code && isBerthError(err)) throw errorOfKind(err.kind, message, { cause: err, code });
    throw err;
  }
}

async function* chunks(stream: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<DataChunk> {
  for await (const data of stream) yield { data: Buffer.isBuffer(data) ? data : Buffer.from(data) };
}

async function* logs(
  manager: ContainerManager,
  req: { id: string; follow: boolean; stdout: boolean; stderr: boolean; since: string; until: string; tail: string; timestamps: boolean },
  call: grpc.ServerWritableStream<unknown, LogEntry>,
): AsyncGenerator<LogEntry> {
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort());
  const tail = req.tail === '' || req.tail === 'all' ? undefined : Number(req.tail);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new InvalidArgumentError(`invalid value for "tail": "${req.tail}": expected a number or "all"`);
  const wantStdout = req.stdout || (!req.stdout && !req.stderr);
  const wantStderr = req.stderr || (!req.stdout && !req.stderr);
  for await (const entry of manager.logs(req.id, {
    follow: req.follow,
    tail,
    // parseTimeArg gives milliseconds; the log reader takes a number as seconds, a Date exactly.
    since: req.since ? new Date(parseTimeArg(req.since)) : undefined,
    until: req.until ? new Date(parseTimeArg(req.until)) : undefined,
    signal: controller.signal,
  })) {
    if (entry.stream === 'stdout' ? !wantStdout : !wantStderr) continue;
    yield {
      stream: entry.stream === 'stdout' ? StreamKind.STREAM_KIND_STDOUT : StreamKind.STREAM_KIND_STDERR,
      time: entry.time,
      data: entry.partial ? entry.line : Buffer.concat([entry.line, Buffer.from('\n')]),
    };
  }
}

type Duplex = grpc.ServerDuplexStream<StreamInput, StreamOutput>;

/** Reads the first message of an interactive stream, which says what to do. */
function firstMessage(call: Duplex): Promise<StreamInput | undefined> {
  return new Promise((resolve, reject) => {
    const onData = (m: StreamInput) => (cleanup(), call.pause(), resolve(m));
    const onEnd = () => (cleanup(), resolve(undefined));
    const onError = (e: Error) => (cleanup(), reject(e));
    const cleanup = () => {
      call.off('data', onData);
      call.off('end', onEnd);
      call.off('error', onError);
    };
    call.on('data', onData);
    call.once('end', onEnd);
    call.once('error', onError);
  });
}

function send(call: Duplex, output: StreamOutput['output']): void {
  if (!call.cancelled && !call.destroyed && !call.writableEnded) call.write({ output });
}

/**
 * Attach: relays the container's output (and, when the container has stdin open, input) until it
 * exits, then sends its exit code. With `start`, the container is started once the relay is in
 * place, so `berth run` loses no output.
 */
async function attach(manager: ContainerManager, call: Duplex): Promise<void> {
  try {
    const first = await firstMessage(call);
    if (first?.input?.$case !== 'attach') throw new InvalidArgumentError('Attach must begin with an attach message');
    const spec = first.input.value;
    const id = manager.resolve(spec.container);
    const controller = new AbortController();
    call.on('cancelled', () => controller.abort());
    const session = await manager.attach(id, {
      stdin: spec.stdin,
      logs: spec.logs,
      signal: controller.signal,
      onStdout: (data: Buffer) => send(call, { $case: 'stdout', value: data }),
      onStderr: (data: Buffer) => send(call, { $case: 'stderr', value: data }),
    });
    call.on('data', (m: StreamInput) => {
      if (m.input?.$case === 'stdin') session.write(m.input.value);
      else if (m.input?.$case === 'closeStdin') session.closeStdin();
      else if (m.input?.$case === 'resize') session.resize(m.input.value.rows, m.input.value.cols);
    });
    call.on('end', () => session.closeStdin());
    call.resume();
    const exit = manager.wait(id, { condition: 'next-exit' });
    if (spec.start) await startOrExplain(manager, id);
    const exitCode = await exit;
    await session.done;
    send(call, { $case: 'exitCode', value: exitCode });
    call.end();
  } catch (err) {
    failStream(call, err);
  }
}

/** Exec: runs a process in a running container's namespaces; output, then its exit code. */
async function exec(manager: ContainerManager, call: Duplex): Promise<void> {
  try {
    const first = await firstMessage(call);
    if (first?.input?.$case !== 'exec') throw new InvalidArgumentError('Exec must begin with an exec message');
    const spec = first.input.value;
    if (spec.cmd.length === 0) throw new InvalidArgumentError('No exec command specified');
    const controller = new AbortController();
    call.on('cancelled', () => controller.abort());
    const session = await manager.exec(spec.container, {
      cmd: spec.cmd,
      env: spec.env,
      workingDir: spec.workingDir || undefined,
      user: spec.user || undefined,
      tty: spec.tty,
      stdin: spec.stdin,
      detach: spec.detach,
      signal: controller.signal,
      onStdout: (data: Buffer) => send(call, { $case: 'stdout', value: data }),
      onStderr: (data: Buffer) => send(call, { $case: 'stderr', value: data }),
    });
    send(call, { $case: 'execId', value: session.id });
    call.on('data', (m: StreamInput) => {
      if (m.input?.$case === 'stdin') session.write(m.input.value);
      else if (m.input?.$case === 'closeStdin') session.closeStdin();
      else if (m.input?.$case === 'resize') session.resize(m.input.value.rows, m.input.value.cols);
    });
    call.on('end', () => session.closeStdin());
    call.resume();
    const exitCode = await session.exitCode;
    send(call, { $case: 'exitCode', value: exitCode });
    call.end();
  } catch (err) {
    failStream(call, err);
  }
}
