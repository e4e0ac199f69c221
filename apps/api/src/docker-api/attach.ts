import type { FastifyInstance } from 'fastify';
import { unary, type StreamOutput } from '@berth/proto';
import type { DockerInspect } from './containers.js';
import type { DockerApiContext } from './context.js';
import { readUpgradeBody, writeHijackHead, type Hijacked } from './hijack.js';
import type { Attachment } from './pending-attaches.js';
import { frame, streamContentType } from './stdcopy.js';


/** Attach: `POST /containers/{id}/attach`, hijacked (Upgrade: tcp) or as a plain streaming answer. */
export function registerAttachRoutes(app: FastifyInstance, ctx: DockerApiContext): void {
  ctx.upgrades.push({
    method: 'POST',
    pattern: /^\/containers\/([^/]+)\/attach$/,
    handle: async (h, req, m, query) => {
      // The request's body is no part of the stream: dockerode sends its options as JSON there
      // (docker-modem's POST), which would otherwise reach the container's stdin.
      const { rest } = await readUpgradeBody(req, h.socket, h.head);
      await attach(ctx, { ...h, head: rest }, decodeURIComponent(m[1]!), query);
    },
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
      call.write({ input: { $case: 'attach', value: { container: info.Id, stdin: wantStdin, logs, stream: true, start, create: undefined } } });
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
