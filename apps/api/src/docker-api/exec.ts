import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ConflictError, NotFoundError } from '@berth/errors';
import { fromServiceError, unary, type StreamOutput } from '@berth/proto';
import type { DockerInspect } from './containers.js';
import { readUpgradeBody, writeHijackHead, type Hijacked } from './hijack.js';
import { int, type Query } from './query.js';
import type { DockerApiContext, ExecRecord } from './context.js';
import { frame, streamContentType } from './stdcopy.js';

interface ExecCreateBody {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | string | null;
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

interface ExecStartBody {
  Detach?: boolean;
  Tty?: boolean;
}

/** Finished exec instances kept for inspection (docker keeps them while the container lives). */
const KEEP_FINISHED = 256;

/**
 * Exec: docker creates an instance, then starts it; Berth's gRPC Exec does both in one stream, so
 * the instance's config waits here between the two (and its exit code after, for `exec`'s inspect).
 */
export function registerExecRoutes(app: FastifyInstance, ctx: DockerApiContext): void {
  const c = ctx.clients.containers;

  app.post<{ Params: { id: string } }>('/containers/:id/exec', async (request, reply) => {
    const body = (request.body ?? {}) as ExecCreateBody;
    const info = JSON.parse((await unary(c, c.inspect, { id: request.params.id })).json) as DockerInspect;
    if (!info.State?.Running) throw new ConflictError(`container ${info.Id} is not running`);
    const cmd = body.Cmd == null ? [] : Array.isArray(body.Cmd) ? body.Cmd : [body.Cmd];
    if (cmd.length === 0) throw new ConflictError('No exec command specified');
    const id = randomBytes(32).toString('hex');
    ctx.execs.set(id, {
      id,
      containerId: info.Id,
      config: {
        Cmd: cmd,
        Env: body.Env ?? [],
        WorkingDir: body.WorkingDir ?? '',
        User: body.User ?? '',
        Tty: body.Tty ?? false,
        AttachStdin: body.AttachStdin ?? false,
        AttachStdout: body.AttachStdout ?? false,
        AttachStderr: body.AttachStderr ?? false,
        Privileged: body.Privileged ?? false,
      },
      running: false,
      exitCode: null,
      pid: 0,
      createdAt: Date.now(),
    });
    forgetOldExecs(ctx.execs);
    return reply.code(201).send({ Id: id });
  });

  ctx.upgrades.push({
    method: 'POST',
    pattern: /^\/exec\/([^/]+)\/start$/,
    handle: async (h, req) => {
      const { body, rest } = await readUpgradeBody(req, h.socket, h.head);
      const start = body.length > 0 ? (JSON.parse(body.toString('utf8')) as ExecStartBody) : {};
      const url = req.url ?? '';
      const id = decodeURIComponent(/\/exec\/([^/]+)\/start/.exec(url)![1]!);
      await startExec(ctx, mustGet(ctx, id), start, { ...h, head: rest });
    },
  });

  app.post<{ Params: { id: string } }>('/exec/:id/start', async (request, reply) => {
    const start = (request.body ?? {}) as ExecStartBody;
    const exec = mustGet(ctx, request.params.id);
    if (start.Detach) {
      await startDetached(ctx, exec);
      return reply.code(200).send();
    }
    reply.hijack();
    await startExec(ctx, exec, start, { socket: request.raw.socket, head: Buffer.alloc(0), upgraded: false });
  });

  app.post<{ Params: { id: string } }>('/exec/:id/resize', async (request, reply) => {
    const exec = mustGet(ctx, request.params.id);
    const q = request.query as Query;
    exec.resize?.(int(q, 'h') ?? 0, int(q, 'w') ?? 0);
    return reply.code(200).send();
  });

  app.get<{ Params: { id: string } }>('/exec/:id/json', async (request) => {
    const e = mustGet(ctx, request.params.id);
    return {
      ID: e.id,
      Running: e.running,
      ExitCode: e.exitCode,
      ProcessConfig: { tty: e.config.Tty, entrypoint: e.config.Cmd[0], arguments: e.config.Cmd.slice(1), privileged: e.config.Privileged, user: e.config.User },
      OpenStdin: e.config.AttachStdin,
      OpenStderr: e.config.AttachStderr,
      OpenStdout: e.config.AttachStdout,
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: '',
      Pid: e.pid,
    };
  });
}

function mustGet(ctx: DockerApiContext, id: string): ExecRecord {
  const e = ctx.execs.get(id);
  if (!e) throw new NotFoundError(`No such exec instance: ${id}`);
  return e;
}

function forgetOldExecs(execs: Map<string, ExecRecord>): void {
  const finished = [...execs.values()].filter((e) => !e.running && e.exitCode !== null);
  for (const e of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) execs.delete(e.id);
}

function execCall(ctx: DockerApiContext, e: ExecRecord, detach: boolean, tty: boolean) {
  if (e.running || e.exitCode !== null) throw new ConflictError(`Exec ${e.id} has already been started`);
  e.running = true;
  const call = ctx.clients.containers.exec();
  call.write({
    input: {
      $case: 'exec',
      value: {
        container: e.containerId,
        cmd: e.config.Cmd,
        env: e.config.Env,
        workingDir: e.config.WorkingDir,
        user: e.config.User,
        tty,
        stdin: e.config.AttachStdin && !detach,
        detach,
        privileged: e.config.Privileged,
      },
    },
  });
  return call;
}

async function startDetached(ctx: DockerApiContext, e: ExecRecord): Promise<void> {
  const call = execCall(ctx, e, true, e.config.Tty);
  await new Promise<void>((resolve, reject) => {
    call.on('data', () => {});
    call.on('end', resolve);
    call.on('error', (err) => {
      e.running = false;
      reject(fromServiceError(err));
    });
  });
  call.end();
}

async function startExec(ctx: DockerApiContext, e: ExecRecord, start: ExecStartBody, h: Hijacked): Promise<void> {
  const tty = start.Tty ?? e.config.Tty;
  const call = execCall(ctx, e, false, tty);
  writeHijackHead(h, streamContentType(tty));
  const socket = h.socket;
  const stdin = e.config.AttachStdin && h.upgraded;
  e.resize = (rows, cols) => call.write({ input: { $case: 'resize', value: { rows, cols } } });
  call.on('data', (m: StreamOutput) => {
    const o = m.output;
    if (o?.$case === 'stdout') socket.write(tty ? o.value : frame('stdout', o.value));
    else if (o?.$case === 'stderr') socket.write(tty ? o.value : frame('stderr', o.value));
    else if (o?.$case === 'exitCode') e.exitCode = o.value;
  });
  const finish = () => {
    e.running = false;
    e.resize = undefined;
    if (e.exitCode === null) e.exitCode = 126;
    socket.end();
  };
  call.on('end', finish);
  call.on('error', (err) => {
    if (!socket.destroyed) socket.write(tty ? `${fromServiceMessage(err)}\r\n` : frame('stderr', Buffer.from(`${fromServiceMessage(err)}\n`)));
    finish();
  });
  if (stdin && h.head.length > 0) call.write({ input: { $case: 'stdin', value: h.head } });
  socket.on('data', (d: Buffer) => {
    if (stdin) call.write({ input: { $case: 'stdin', value: d } });
  });
  socket.on('end', () => {
    if (stdin) call.write({ input: { $case: 'closeStdin', value: true } });
  });
  socket.on('close', () => call.cancel());
  socket.resume();
}

function fromServiceMessage(err: unknown): string {
  const e = fromServiceError(err);
  return e instanceof Error ? e.message : String(e);
}
