import type * as grpc from '@grpc/grpc-js';
import { checkResources, parseSecurityOpts, type ContainerManager, type HealthStatus, type RestartPolicyName } from '@berth/containers';
import { copyHandlers } from './copy-service.js';
import { InvalidArgumentError, isBerthError, messageOf, errorOfKind } from '@berth/errors';
import { parseTimeArgNs } from '@berth/filters';
import {
  StreamKind,
  callFailureOf,
  handleServerStream,
  handleUnary,
  failStream,
  type ContainersServer,
  type ContainerSpec,
  type DataChunk,
  type LogEntry,
  type StreamInput,
  type StreamOutput,
} from '@berth/proto';
import { createOptionsFromSpec, filtersToMap, summaryToProto } from './convert.js';
import { silentLogger, type Logger } from '@berth/log';

/**
 * The Containers gRPC service of the agent: each handler validates, calls one ContainerManager
 * method and maps the answer (conversions in convert.ts). Errors keep their class (and so their
 * gRPC code) and message.
 */
export function containersService(manager: ContainerManager, options: { log?: Logger } = {}): ContainersServer {
  const log = options.log ?? silentLogger;
  return {
    create: handleUnary(async ({ spec, start }) => {
      const { id, warnings } = await createFromSpec(manager, log, spec);
      if (!start) return { id, warnings, started: false, startFailure: undefined };
      // `run -d` in one call: the start's failure is the caller's to report (the container stays,
      // as after Create then Start), with the status Start would have answered.
      return startOrExplain(manager, id).then(
        () => ({ id, warnings, started: true, startFailure: undefined }),
        (err: unknown) => ({ id, warnings, started: false, startFailure: callFailureOf(err) }),
      );
    }),
    start: handleUnary(async ({ id }) => (await startOrExplain(manager, id), {})),
    stop: handleUnary(async ({ id, timeout }) => (await manager.stop(id, { timeout }), {})),
    kill: handleUnary(async ({ id, signal }) => (await manager.kill(id, { signal: signal || 'SIGKILL' }), {})),
    restart: handleUnary(async ({ id, timeout }) => (await manager.restart(id, { timeout }), {})),
    // The full id goes back: the gateway forgets the container's placement by it.
    remove: handleUnary(async ({ id, force, volumes }) => {
      const full = manager.resolve(id);
      await manager.remove(full, { force, volumes });
      return { id: full };
    }),
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
    prune: handleUnary(async ({ filters }) => manager.prune(filtersToMap(filters))),
    list: handleUnary(async (req) => {
      const list = await manager.list({ all: req.all, latest: req.latest, limit: req.limit || undefined, filters: filtersToMap(req.filters), size: req.size });
      return { containers: list.map(summaryToProto) };
    }),
    // `--size` adds docker's SizeRw and SizeRootFs, measured now (they cost a walk of the rw layer).
    inspect: handleUnary(async ({ id, size }) => {
      const view = await manager.inspect(id);
      if (!size) return { json: JSON.stringify(view) };
      const sizes = await manager.size(id);
      // Where docker puts them: after GraphDriver.
      const entries = Object.entries(view).flatMap(([k, v]) => (k === 'GraphDriver' ? [[k, v], ['SizeRw', sizes.SizeRw], ['SizeRootFs', sizes.SizeRootFs]] : [[k, v]]));
      return { json: JSON.stringify(Object.fromEntries(entries)) };
    }),
    logs: handleServerStream((req, call) => logs(manager, req, call)),
    top: handleUnary(async ({ id, psArgs }) => {
      const top = await manager.top(id, psArgs ? psArgs.split(/\s+/).filter(Boolean) : undefined);
      return { titles: top.Titles, processes: top.Processes.map((columns) => ({ columns })) };
    }),
    stats: handleUnary(async ({ id }) => ({ json: JSON.stringify(await manager.stats(id)) })),
    diff: handleUnary(async ({ id }) => ({ changes: await manager.diff(id) })),
    export: handleServerStream(async ({ id }) => chunks(await manager.export(id))),
    update: handleUnary(async (req) => {
      const policy = req.restartPolicy;
      const warnings = await manager.update(req.id, {
        memory: req.memory,
        memorySwap: req.memorySwap,
        memoryReservation: req.memoryReservation,
        nanoCpus: req.nanoCpus,
        cpuShares: req.cpuShares,
        cpusetCpus: req.cpusetCpus,
        pidsLimit: req.pidsLimit,
        restartPolicy: policy ? { name: policy.name as RestartPolicyName | '', maximumRetryCount: policy.maximumRetryCount } : undefined,
      });
      return { warnings };
    }),
    ...copyHandlers(manager),
    attach: (call) => void attach(manager, call),
    runAttached: (call) => void runAttached(manager, log, call),
    exec: (call) => void exec(manager, call),
  };
}

/** Create's work: the options of `spec`, the container, what was asked for at debug, Docker's warnings. */
async function createFromSpec(manager: ContainerManager, log: Logger, spec: ContainerSpec | undefined): Promise<{ id: string; warnings: string[] }> {
  if (!spec) throw new InvalidArgumentError('Create needs a container spec');
  const options = createOptionsFromSpec(spec);
  const id = await manager.create(options);
  // What was asked for, at debug; `-e` values are censored by the service logger (options.env).
  log.debug({ container: id, image: options.image, options }, 'Container created');
  // Security options Berth accepts without effect (AppArmor, SELinux labels) are said back, as
  // are Docker's resource warnings (an OOM killer disabled without a memory limit).
  const warnings = [...checkResources(options.resources ?? {}), ...parseSecurityOpts(options.securityOpt ?? []).warnings];
  return { id, warnings };
}

const healthStatuses = new Set(['starting', 'healthy', 'unhealthy']);

/**
 * Starts an exec; a command that cannot run ends the stream as Docker's daemon ends an attached
 * exec: the runtime's error on stdout (`OCI runtime exec failed: … executable file not found in
 * $PATH: unknown`, the last word containerd's error kind) and exit code 127 (not found) or 126 (not
 * executable), which the client exits with. Undefined then; other errors are thrown.
 */
async function startExec(
  manager: ContainerManager,
  spec: { container: string; detach: boolean },
  call: Duplex,
  options: Parameters<ContainerManager['exec']>[1],
): Promise<Awaited<ReturnType<ContainerManager['exec']>> | undefined> {
  try {
    return await manager.exec(spec.container, options);
  } catch (err) {
    const exitCode = isBerthError(err) ? { COMMAND_NOT_FOUND: 127, COMMAND_NOT_EXECUTABLE: 126 }[err.code ?? ''] : undefined;
    if (exitCode === undefined || spec.detach) throw err;
    send(call, { $case: 'stdout', value: Buffer.from(`${messageOf(err)}: unknown\r\n`) });
    send(call, { $case: 'exitCode', value: exitCode });
    call.end();
    return undefined;
  }
}

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
    // Nanoseconds: a `--since` copied from `logs -t` keeps its precision.
    since: req.since ? parseTimeArgNs(req.since) : undefined,
    until: req.until ? parseTimeArgNs(req.until) : undefined,
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
    await attachAndRelay(manager, call, { ...first.input.value, container: manager.resolve(first.input.value.container) });
  } catch (err) {
    failStream(call, err);
  }
}

/**
 * RunAttached (`berth run` without -d): creates the container of the first message's `create`,
 * answers `created`, then attaches and starts it as Attach with `start` does: one round trip from
 * the CLI instead of two. Input the client sends meanwhile waits in the paused stream.
 */
async function runAttached(manager: ContainerManager, log: Logger, call: Duplex): Promise<void> {
  try {
    const first = await firstMessage(call);
    if (first?.input?.$case !== 'attach') throw new InvalidArgumentError('RunAttached must begin with an attach message');
    const { id, warnings } = await createFromSpec(manager, log, first.input.value.create);
    // A client gone meanwhile (a killed CLI) leaves it created, as a `run` killed after its create.
    if (call.cancelled) return;
    send(call, { $case: 'created', value: { id, warnings } });
    await attachAndRelay(manager, call, { ...first.input.value, container: id, start: true });
  } catch (err) {
    failStream(call, err);
  }
}

/** Attach's relay for container `spec.container` (a full id), from the attachment to the exit code. */
async function attachAndRelay(manager: ContainerManager, call: Duplex, spec: { container: string; stdin: boolean; logs: boolean; start: boolean }): Promise<void> {
  const id = spec.container;
  const controller = new AbortController();
  call.on('cancelled', () => controller.abort());
  const session = await manager.attach(id, {
    stdin: spec.stdin,
    logs: spec.logs,
    signal: controller.signal,
    onStdout: (data: Buffer) => send(call, { $case: 'stdout', value: data }),
    onStderr: (data: Buffer) => send(call, { $case: 'stderr', value: data }),
  });
  // A terminal size the client sends before the start is kept and applied once the container runs,
  // as docker's client resizes after its start: applied at once as well, it was announced twice
  // (the console exists from the create on) whenever the client's resize beat the start.
  let size: { rows: number; cols: number } | undefined;
  let started = !spec.start;
  call.on('data', (m: StreamInput) => {
    if (m.input?.$case === 'stdin') session.write(m.input.value);
    else if (m.input?.$case === 'closeStdin') session.closeStdin();
    else if (m.input?.$case === 'resize') {
      size = { rows: m.input.value.rows, cols: m.input.value.cols };
      if (started) session.resize(size.rows, size.cols);
    }
  });
  call.on('end', () => session.closeStdin());
  call.resume();
  // As docker's client does for `run --rm`: the exit status goes out once the container is
  // removed, so that its name is free when the command returns.
  const exit = manager.wait(id, { condition: manager.get(id).HostConfig.AutoRemove ? 'removed' : 'next-exit' });
  if (spec.start) {
    await startOrExplain(manager, id);
    started = true;
    if (size) session.resize(size.rows, size.cols);
  }
  const exitCode = await exit;
  await session.done;
  send(call, { $case: 'exitCode', value: exitCode });
  call.end();
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
    const session = await startExec(manager, spec, call, {
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
    if (session === undefined) return;
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
