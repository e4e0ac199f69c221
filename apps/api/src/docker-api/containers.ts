import type { FastifyInstance, FastifyReply } from 'fastify';
import { serverStream, unary, type ContainerSummary, type LogEntry, StreamKind } from '@berth/proto';
import { toContainerSpec, type DockerCreateBody } from './container-create.js';
import { bool, filters, int, str, type Query } from './query.js';
import type { DockerApiContext } from './context.js';
import { frame, streamContentType } from './stdcopy.js';
import { streamReply } from './stream-reply.js';

interface IdParams {
  id: string;
}

/** Containers: list, create, inspect, top, logs, changes, export, stats, lifecycle, wait, remove, prune. */
export function registerContainerRoutes(app: FastifyInstance, ctx: DockerApiContext): void {
  const c = ctx.clients.containers;
  const inspect = async (id: string, size = false) => JSON.parse((await unary(c, c.inspect, { id, size })).json) as DockerInspect;

  app.get('/containers/json', async (request) => {
    const q = request.query as Query;
    const res = await unary(c, c.list, { all: bool(q, 'all'), limit: int(q, 'limit') ?? 0, latest: false, filters: filters(q), size: bool(q, 'size') });
    return res.containers.map((s) => dockerSummary(s, bool(q, 'size')));
  });

  app.post('/containers/create', async (request, reply) => {
    const q = request.query as Query;
    const { spec, extraNetworks } = toContainerSpec(request.body as DockerCreateBody, { name: str(q, 'name'), platform: str(q, 'platform') });
    const res = await unary(c, c.create, { spec, start: false });
    const n = ctx.clients.networks;
    for (const { network, endpoint } of extraNetworks) {
      await unary(n, n.connect, { network, container: res.id, aliases: endpoint.Aliases ?? [], ipv4Address: endpoint.IPAMConfig?.IPv4Address ?? '' });
    }
    return reply.code(201).send({ Id: res.id, Warnings: res.warnings });
  });

  app.get<{ Params: IdParams }>('/containers/:id/json', async (request) => inspect(request.params.id, bool(request.query as Query, 'size')));

  app.get<{ Params: IdParams }>('/containers/:id/top', async (request) => {
    const res = await unary(c, c.top, { id: request.params.id, psArgs: str(request.query as Query, 'ps_args') });
    return { Titles: res.titles, Processes: res.processes.map((r) => r.columns) };
  });

  app.get<{ Params: IdParams }>('/containers/:id/logs', async (request, reply) => {
    const q = request.query as Query;
    const info = await inspect(request.params.id);
    const tty = info.Config?.Tty === true;
    const timestamps = bool(q, 'timestamps');
    const call = c.logs({
      id: info.Id,
      follow: bool(q, 'follow'),
      stdout: bool(q, 'stdout'),
      stderr: bool(q, 'stderr'),
      since: str(q, 'since') === '0' ? '' : str(q, 'since'),
      until: str(q, 'until') === '0' ? '' : str(q, 'until'),
      tail: dockerTail(str(q, 'tail', 'all')),
      timestamps,
    });
    // Errors before the first entry (a bad `since`) are answered as errors, not inside the stream.
    const entries = serverStream<LogEntry>(call);
    const first = await entries.next();
    const out = streamReply(reply, streamContentType(tty));
    out.signal.addEventListener('abort', () => call.cancel());
    const send = async (e: LogEntry) => {
      const data = timestamps ? Buffer.concat([Buffer.from(`${e.time} `), e.data]) : e.data;
      await out.write(tty ? data : frame(e.stream === StreamKind.STREAM_KIND_STDERR ? 'stderr' : 'stdout', data));
    };
    try {
      if (!first.done) await send(first.value);
      for await (const e of entries) await send(e);
    } catch {
      // cancelled by the client going away, or the agent ended the stream: the output simply ends
    }
    out.end();
  });

  app.get<{ Params: IdParams }>('/containers/:id/changes', async (request) => {
    const res = await unary(c, c.diff, { id: request.params.id });
    return res.changes.map((ch) => ({ Path: ch.path, Kind: ch.kind === 'C' ? 0 : ch.kind === 'A' ? 1 : 2 }));
  });

  app.get<{ Params: IdParams }>('/containers/:id/export', async (request, reply) => {
    const call = c.export({ id: request.params.id });
    await pipeChunks(reply, 'application/x-tar', call, serverStream<{ data: Buffer }>(call));
  });

  app.get<{ Params: IdParams }>('/containers/:id/stats', async (request, reply) => {
    const q = request.query as Query;
    const once = !bool(q, 'stream', true) || bool(q, 'one-shot');
    const stats = async () => (await unary(c, c.stats, { id: request.params.id })).json;
    if (once) return reply.type('application/json').send(await stats());
    const first = await stats();
    const out = streamReply(reply, 'application/json');
    await out.write(`${first}\n`);
    while (!out.signal.aborted) {
      await new Promise((r) => setTimeout(r, 1000));
      if (out.signal.aborted) break;
      try {
        await out.write(`${await stats()}\n`);
      } catch {
        break; // the container is gone: the stream ends as docker's does
      }
    }
    out.end();
  });

  app.post<{ Params: IdParams }>('/containers/:id/resize', async (request, reply) => {
    const q = request.query as Query;
    const info = await inspect(request.params.id);
    ctx.attaches.resize(info.Id, int(q, 'h') ?? 0, int(q, 'w') ?? 0);
    return reply.code(200).send();
  });

  app.post<{ Params: IdParams }>('/containers/:id/start', async (request, reply) => {
    const info = await inspect(request.params.id);
    if (info.State?.Running) return reply.code(304).send();
    if (!(await ctx.attaches.startAttached(info.Id, info.State?.StartedAt ?? ''))) await unary(c, c.start, { id: info.Id });
    return reply.code(204).send();
  });

  app.post<{ Params: IdParams }>('/containers/:id/stop', async (request, reply) => {
    const q = request.query as Query;
    const info = await inspect(request.params.id);
    if (!info.State?.Running) return reply.code(304).send();
    await unary(c, c.stop, { id: info.Id, timeout: int(q, 't'), signal: str(q, 'signal') }, { deadline: Infinity });
    return reply.code(204).send();
  });

  app.post<{ Params: IdParams }>('/containers/:id/restart', async (request, reply) => {
    const q = request.query as Query;
    await unary(c, c.restart, { id: request.params.id, timeout: int(q, 't'), signal: str(q, 'signal') });
    return reply.code(204).send();
  });

  app.post<{ Params: IdParams }>('/containers/:id/kill', async (request, reply) => {
    const signal = str(request.query as Query, 'signal');
    const info = await inspect(request.params.id);
    await unary(c, c.kill, { id: info.Id, signal });
    // dockerd answers a SIGKILL once the container stopped (so `kill; start` starts it again).
    if (/^(|(SIG)?KILL|9)$/i.test(signal)) {
      await unary(c, c.wait, { id: info.Id, condition: 'not-running' }, { deadline: Date.now() + 10_000 }).catch(() => {
        // removed meanwhile (--rm) or still dying after 10 s: the kill itself was delivered
      });
    }
    return reply.code(204).send();
  });

  app.post<{ Params: IdParams }>('/containers/:id/pause', async (request, reply) => {
    await unary(c, c.pause, { id: request.params.id });
    return reply.code(204).send();
  });

  app.post<{ Params: IdParams }>('/containers/:id/unpause', async (request, reply) => {
    await unary(c, c.unpause, { id: request.params.id });
    return reply.code(204).send();
  });

  app.post<{ Params: IdParams }>('/containers/:id/rename', async (request, reply) => {
    await unary(c, c.rename, { id: request.params.id, name: str(request.query as Query, 'name') });
    return reply.code(204).send();
  });

  app.post<{ Params: IdParams }>('/containers/:id/update', async (request) => {
    const b = (request.body ?? {}) as Record<string, unknown>;
    const num = (k: string) => (typeof b[k] === 'number' && b[k] !== 0 ? (b[k] as number) : undefined);
    const rp = b.RestartPolicy as { Name?: string; MaximumRetryCount?: number } | undefined;
    const res = await unary(c, c.update, {
      id: request.params.id,
      memory: num('Memory'),
      memorySwap: num('MemorySwap'),
      memoryReservation: num('MemoryReservation'),
      nanoCpus: num('NanoCpus'),
      cpuShares: num('CpuShares'),
      cpusetCpus: typeof b.CpusetCpus === 'string' && b.CpusetCpus !== '' ? b.CpusetCpus : undefined,
      pidsLimit: num('PidsLimit'),
      restartPolicy: rp?.Name ? { name: rp.Name, maximumRetryCount: rp.MaximumRetryCount ?? 0 } : undefined,
    });
    return { Warnings: res.warnings };
  });

  app.post<{ Params: IdParams }>('/containers/:id/wait', async (request, reply) => {
    const condition = str(request.query as Query, 'condition', 'not-running');
    const info = await inspect(request.params.id);
    // The headers go out first: docker's client returns from ContainerWait on them, then starts.
    const pending = unary(c, c.wait, { id: info.Id, condition }, { deadline: Infinity });
    const out = streamReply(reply, 'application/json');
    try {
      const res = await pending;
      out.end(`${JSON.stringify({ StatusCode: res.statusCode, Error: res.error ? { Message: res.error } : null })}\n`);
    } catch (err) {
      out.end(`${JSON.stringify({ StatusCode: -1, Error: { Message: (err as Error).message } })}\n`);
    }
  });

  app.delete<{ Params: IdParams }>('/containers/:id', async (request, reply) => {
    const q = request.query as Query;
    await unary(c, c.remove, { id: request.params.id, force: bool(q, 'force'), volumes: bool(q, 'v') });
    return reply.code(204).send();
  });

  app.post('/containers/prune', async (request) => {
    const res = await unary(c, c.prune, { filters: filters(request.query as Query) });
    return { ContainersDeleted: res.deleted, SpaceReclaimed: Number(res.spaceReclaimed) };
  });
}

/** The fields of docker's ContainerInspectResponse the API itself reads. */
export interface DockerInspect {
  Id: string;
  Name: string;
  State?: { Running?: boolean; StartedAt?: string; Status?: string };
  Config?: { Tty?: boolean; OpenStdin?: boolean };
}

function dockerSummary(s: ContainerSummary, size: boolean): Record<string, unknown> {
  return {
    Id: s.id,
    Names: s.names.map((n) => (n.startsWith('/') ? n : `/${n}`)),
    Image: s.image,
    ImageID: s.imageId,
    Command: s.command,
    Created: Number(s.created),
    Ports: s.ports.map((p) => (p.publicPort ? { IP: p.ip, PrivatePort: p.privatePort, PublicPort: p.publicPort, Type: p.type } : { PrivatePort: p.privatePort, Type: p.type })),
    ...(size ? { SizeRw: Number(s.sizeRw), SizeRootFs: Number(s.sizeRootFs) } : {}),
    Labels: s.labels,
    State: s.state,
    Status: s.status,
    HostConfig: { NetworkMode: s.networks[0] ?? 'default' },
    NetworkSettings: { Networks: Object.fromEntries(s.networks.map((n) => [n, { NetworkID: '', EndpointID: '' }])) },
    Mounts: s.mounts.map((m) => ({ Type: m.type, Name: m.name || undefined, Source: m.source, Destination: m.destination, Driver: m.driver || undefined, Mode: '', RW: true, Propagation: '' })),
  };
}

/** Streams a gRPC call's data chunks as the answer's body (export, archive, save). */
export async function pipeChunks(
  reply: FastifyReply,
  contentType: string,
  call: { cancel(): void },
  chunks: AsyncIterable<{ data: Buffer }>,
  extraHeaders: Record<string, string> = {},
): Promise<void> {
  // The first chunk decides between an error answer and a 200 with the stream.
  const it = chunks[Symbol.asyncIterator]();
  const first = await it.next();
  for (const [k, v] of Object.entries(extraHeaders)) reply.raw.setHeader(k, v);
  const out = streamReply(reply, contentType);
  out.signal.addEventListener('abort', () => call.cancel());
  try {
    if (!first.done) await out.write(first.value.data);
    for (let r = await it.next(); !r.done; r = await it.next()) await out.write(r.value.data);
    out.end();
  } catch {
    // a failure after the headers: the body is cut short, which the client sees as a broken tar
    reply.raw.destroy();
  }
}

/**
 * dockerd reads `tail` with strconv.Atoi and shows everything when that fails or is negative
 * (testcontainers sends `tail=-1`, docker's own docs call any non-integer "all").
 */
function dockerTail(tail: string): string {
  return /^\d+$/.test(tail) ? tail : 'all';
}
