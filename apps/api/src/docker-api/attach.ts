import type { FastifyInstance } from 'fastify';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { ConflictError } from '@berth/errors';
import { fromServiceError, unary, type ContainersClient, type StreamInput, type StreamOutput } from '@berth/proto';
import type { DockerInspect } from './containers.js';
import { writeHijackHead, type Hijacked } from './hijack.js';
import type { DockerApiContext } from './server.js';
import { frame, streamContentType } from './stdcopy.js';

/**
 * An attached client (docker's hijacked `POST /containers/{id}/attach`) relayed onto the gateway's
 * Attach stream. docker's client attaches to a created container and then calls `/start`; Berth's
 * Attach has no "attached" acknowledgement, so an attachment to a container that does not run
 * waits here, and the `/start` that follows opens it with `start: true`: the agent starts the
 * container once the relay is in place and no output is lost (PendingAttaches.startAttached).
 */
interface Attachment {
  open(start: boolean): ClientDuplexStream<StreamInput, StreamOutput>;
  call?: ClientDuplexStream<StreamInput, StreamOutput>;
}

export class PendingAttaches {
  private readonly waiting = new Map<string, Set<Attachment>>();
  private readonly open = new Map<string, Set<Attachment>>();

  constructor(private readonly containers: ContainersClient) {}

  add(containerId: string, a: Attachment): () => void {
    let set = this.waiting.get(containerId);
    if (!set) this.waiting.set(containerId, (set = new Set()));
    set.add(a);
    return () => {
      set.delete(a);
      if (set.size === 0 && this.waiting.get(containerId) === set) this.waiting.delete(containerId);
    };
  }

  track(containerId: string, a: Attachment): () => void {
    let set = this.open.get(containerId);
    if (!set) this.open.set(containerId, (set = new Set()));
    set.add(a);
    return () => set.delete(a);
  }

  /** `docker run -t`'s resize (POST /containers/{id}/resize) goes to the attached streams. */
  resize(containerId: string, rows: number, cols: number): void {
    for (const a of this.open.get(containerId) ?? []) a.call?.write({ input: { $case: 'resize', value: { rows, cols } } });
  }

  /**
   * Starts a container through the attachments waiting for it; false when none waits (the caller
   * starts it itself). Resolves once the agent started it (its StartedAt changed), rejects with
   * the agent's error when the start failed.
   */
  async startAttached(containerId: string, startedAtBefore: string): Promise<boolean> {
    const set = this.waiting.get(containerId);
    if (!set || set.size === 0) return false;
    this.waiting.delete(containerId);
    const [first, ...rest] = [...set];
    for (const a of rest) a.open(false);
    const call = first!.open(true);
    const failed = new Promise<never>((_, reject) => call.once('error', (err) => reject(fromServiceError(err))));
    const started = (async () => {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const info = JSON.parse((await unary(this.containers, this.containers.inspect, { id: containerId })).json) as DockerInspect;
        if (info.State?.StartedAt && info.State.StartedAt !== startedAtBefore) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new ConflictError(`Container ${containerId} did not start within 60 s`);
    })();
    await Promise.race([started, failed]);
    return true;
  }
}

/** Attach: `POST /containers/{id}/attach`, hijacked (Upgrade: tcp) or as a plain streaming answer. */
export function registerAttachRoutes(app: FastifyInstance, ctx: DockerApiContext): void {
  ctx.upgrades.push({
    method: 'POST',
    pattern: /^\/containers\/([^/]+)\/attach$/,
    handle: async (h, _req, m, query) => attach(ctx, h, decodeURIComponent(m[1]!), query),
  });
  app.post<{ Params: { id: string } }>('/containers/:id/attach', async (request, reply) => {
    const query = new URLSearchParams(request.raw.url?.split('?')[1] ?? '');
    const info = await inspectContainer(ctx, request.params.id); // a 404 before taking the connection over
    reply.hijack();
    await attach(ctx, { socket: request.raw.socket, head: Buffer.alloc(0), upgraded: false }, info.Id, query);
  });
}

async function inspectContainer(ctx: DockerApiContext, id: string): Promise<DockerInspect> {
  const c = ctx.clients.containers;
  return JSON.parse((await unary(c, c.inspect, { id })).json) as DockerInspect;
}

const truthy = (q: URLSearchParams, name: string) => /^(1|true)$/i.test(q.get(name) ?? '');

async function attach(ctx: DockerApiContext, h: Hijacked, id: string, query: URLSearchParams): Promise<void> {
  const info = await inspectContainer(ctx, id);
  const tty = info.Config?.Tty === true;
  const wantStdin = truthy(query, 'stdin') && h.upgraded;
  const wantStdout = truthy(query, 'stdout');
  const wantStderr = truthy(query, 'stderr');
  const logs = truthy(query, 'logs');
  writeHijackHead(h, streamContentType(tty));
  const socket = h.socket;
  let untrack = () => {};
  const attachment: Attachment = {
    open: (start) => {
      const call = ctx.clients.containers.attach();
      attachment.call = call;
      untrack = ctx.attaches.track(info.Id, attachment);
      call.on('data', (m: StreamOutput) => {
        const o = m.output;
        if (o?.$case === 'stdout' && wantStdout) socket.write(tty ? o.value : frame('stdout', o.value));
        else if (o?.$case === 'stderr' && wantStderr) socket.write(tty ? o.value : frame(tty ? 'stdout' : 'stderr', o.value));
      });
      call.on('end', () => (untrack(), socket.end()));
      call.on('error', () => (untrack(), socket.end()));
      call.write({ input: { $case: 'attach', value: { container: info.Id, stdin: wantStdin, logs, stream: true, start } } });
      if (h.head.length > 0 && wantStdin) call.write({ input: { $case: 'stdin', value: h.head } });
      socket.on('data', (d: Buffer) => {
        if (wantStdin) call.write({ input: { $case: 'stdin', value: d } });
      });
      // The client half-closes its side at the end of its stdin.
      socket.on('end', () => {
        if (wantStdin) call.write({ input: { $case: 'closeStdin', value: true } });
      });
      socket.resume();
      return call;
    },
  };
  socket.on('close', () => attachment.call?.cancel());
  if (info.State?.Running) {
    attachment.open(false);
    return;
  }
  const remove = ctx.attaches.add(info.Id, attachment);
  socket.on('close', remove);
}
