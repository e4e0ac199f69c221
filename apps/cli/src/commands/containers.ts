import {
  type ContainersMethods,
  ContainerRef,
  DiffResponse,
  Empty,
  KillContainerRequest,
  PruneContainersRequest,
  PruneContainersResponse,
  RenameContainerRequest,
  StopContainerRequest,
  TopRequest,
  TopResponse,
  WaitContainerRequest,
  WaitContainerResponse,
} from '@berth/proto';
import { isBerthError } from '@berth/errors';
import { daemonMessage, StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, bool, num } from '../flag-values.js';
import { tabwrite } from '../tabwriter.js';
import { errOut, forEachName, forEachObject, out } from './shared.js';
import { pruneHandler } from './prune.js';
import { unaryClient, unaryMethod, type MethodsOf } from '../unary-clients.js';

/**
 * Container commands that are one gRPC call per container (start, stop, kill, …, top, diff, prune):
 * unary calls only, over unary-clients.ts, so that none of them loads @grpc/grpc-js (logs and
 * export stream: container-streams.ts; `start -a` attaches: run.ts; `rm`, `ps`, `inspect` and `stats` are
 * modules of their own). The methods are named one by one (unary-clients.ts `unaryMethod`), so that
 * these commands load the code of their own messages only.
 */

export const Containers = {
  start: unaryMethod('/berth.v1.Containers/Start', ContainerRef, Empty),
  stop: unaryMethod('/berth.v1.Containers/Stop', StopContainerRequest, Empty),
  restart: unaryMethod('/berth.v1.Containers/Restart', StopContainerRequest, Empty),
  kill: unaryMethod('/berth.v1.Containers/Kill', KillContainerRequest, Empty),
  pause: unaryMethod('/berth.v1.Containers/Pause', ContainerRef, Empty),
  unpause: unaryMethod('/berth.v1.Containers/Unpause', ContainerRef, Empty),
  wait: unaryMethod('/berth.v1.Containers/Wait', WaitContainerRequest, WaitContainerResponse),
  rename: unaryMethod('/berth.v1.Containers/Rename', RenameContainerRequest, Empty),
  top: unaryMethod('/berth.v1.Containers/Top', TopRequest, TopResponse),
  diff: unaryMethod('/berth.v1.Containers/Diff', ContainerRef, DiffResponse),
  prune: unaryMethod('/berth.v1.Containers/Prune', PruneContainersRequest, PruneContainersResponse),
} satisfies MethodsOf<ContainersMethods>;

export async function start(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  if (bool(p, 'attach') || bool(p, 'interactive')) return (await import('./run.js')).startAttached(ctx, p);
  const c = unaryClient(ctx, Containers);
  const failed: string[] = [];
  for (const id of p.args) {
    try {
      await c.start({ id });
      out(ctx, `${id}\n`);
    } catch (err) {
      if (!isBerthError(err)) throw err;
      errOut(ctx, `${daemonMessage(err, ctx.host)}\n`);
      failed.push(id);
    }
  }
  if (failed.length > 0) throw new StatusError(`Error: failed to start containers: ${failed.join(', ')}`, 1);
  return 0;
}

export async function stop(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, Containers);
  const timeout = p.changed.has('timeout') ? num(p, 'timeout') : undefined;
  return forEachName(ctx, p.args, (id) => c.stop({ id, timeout, signal: str(p, 'signal') }));
}

export async function restart(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, Containers);
  const timeout = p.changed.has('timeout') ? num(p, 'timeout') : undefined;
  return forEachName(ctx, p.args, (id) => c.restart({ id, timeout, signal: str(p, 'signal') }));
}

export async function kill(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, Containers);
  return forEachName(ctx, p.args, (id) => c.kill({ id, signal: str(p, 'signal') }));
}

export async function pause(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, Containers);
  return forEachName(ctx, p.args, (id) => c.pause({ id }));
}

export async function unpause(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, Containers);
  return forEachName(ctx, p.args, (id) => c.unpause({ id }));
}

/** Prints each container's exit code once it has stopped. */
export async function wait(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, Containers);
  return forEachObject(ctx, p.args, async (id) => {
    const res = await c.wait({ id, condition: '' });
    return String(res.statusCode);
  });
}

export async function rename(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, Containers);
  const [id, name] = p.args as [string, string];
  if (!name.trim()) throw new StatusError('Error: neither old nor new names may be empty', 1);
  await c.rename({ id, name });
  return 0;
}

export async function top(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, Containers);
  const [id, ...psArgs] = p.args;
  const res = await c.top({ id: id!, psArgs: psArgs.join(' ') });
  const lines = [res.titles.join('\t'), ...res.processes.map((row) => row.columns.join('\t'))];
  out(ctx, tabwrite(lines.join('\n') + '\n', { minWidth: 20, padding: 3 }));
  return 0;
}

export async function diff(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, Containers);
  const res = await c.diff({ id: p.args[0]! });
  out(ctx, res.changes.map((change) => `${change.kind} ${change.path}\n`).join(''));
  return 0;
}

export const prune = pruneHandler(Containers, {
  warning: 'WARNING! This will remove all stopped containers.',
  heading: 'Deleted Containers',
  deleted: (res) => res.deleted,
  reclaimed: (res) => res.spaceReclaimed,
});
