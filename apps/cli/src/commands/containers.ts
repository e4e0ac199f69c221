import {
  type ContainerSummary,
  type ContainersMethods,
  type ImagesMethods,
  type JsonDocument,
  type NetworksMethods,
  type VolumesMethods,
  ContainerRef,
  DiffResponse,
  Empty,
  ImageRef,
  JsonDocument as JsonDocumentMessage,
  KillContainerRequest,
  ListContainersRequest,
  ListContainersResponse,
  NetworkRef,
  PruneContainersRequest,
  PruneContainersResponse,
  RemoveContainerRequest,
  RemoveContainerResponse,
  RenameContainerRequest,
  StopContainerRequest,
  TopRequest,
  TopResponse,
  VolumeRef,
  WaitContainerRequest,
  WaitContainerResponse,
} from '@berth/proto';
import { isBerthError, NotFoundError } from '@berth/errors';
import { daemonMessage, StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, bool, list, num } from '../flag-values.js';
import { psDefaultTable, psHeader, psRow, psSizeTable } from '../row-contexts.js';
import { statsDefaultTable, statsEntry, statsHeader, statsRow, type DockerStatsJson, type StatsEntry } from '../stats.js';
import { tabwrite } from '../tabwriter.js';
import { renderListing, resolveFormat } from '../table-format.js';
import { inspectEach } from './inspect-each.js';
import { errOut, forEachName, forEachObject, out, toFilters } from './shared.js';
import { pruneHandler } from './prune.js';
import { unaryClient, unaryMethod, type MethodsOf } from '../unary-clients.js';

/**
 * Container commands that are one gRPC call per container, and the listings (ps, inspect, stats…):
 * unary calls only, over unary-clients.ts, so that none of them loads @grpc/grpc-js (logs and
 * export stream: container-streams.ts; `start -a` attaches: run.ts). The methods are named one by one
 * (unary-clients.ts `unaryMethod`), so that these commands load the code of their own messages only.
 */

export const Containers = {
  start: unaryMethod('/berth.v1.Containers/Start', ContainerRef, Empty),
  stop: unaryMethod('/berth.v1.Containers/Stop', StopContainerRequest, Empty),
  restart: unaryMethod('/berth.v1.Containers/Restart', StopContainerRequest, Empty),
  kill: unaryMethod('/berth.v1.Containers/Kill', KillContainerRequest, Empty),
  remove: unaryMethod('/berth.v1.Containers/Remove', RemoveContainerRequest, RemoveContainerResponse),
  pause: unaryMethod('/berth.v1.Containers/Pause', ContainerRef, Empty),
  unpause: unaryMethod('/berth.v1.Containers/Unpause', ContainerRef, Empty),
  wait: unaryMethod('/berth.v1.Containers/Wait', WaitContainerRequest, WaitContainerResponse),
  rename: unaryMethod('/berth.v1.Containers/Rename', RenameContainerRequest, Empty),
  list: unaryMethod('/berth.v1.Containers/List', ListContainersRequest, ListContainersResponse),
  inspect: unaryMethod('/berth.v1.Containers/Inspect', ContainerRef, JsonDocumentMessage),
  stats: unaryMethod('/berth.v1.Containers/Stats', ContainerRef, JsonDocumentMessage),
  top: unaryMethod('/berth.v1.Containers/Top', TopRequest, TopResponse),
  diff: unaryMethod('/berth.v1.Containers/Diff', ContainerRef, DiffResponse),
  prune: unaryMethod('/berth.v1.Containers/Prune', PruneContainersRequest, PruneContainersResponse),
} satisfies MethodsOf<ContainersMethods>;
// `inspect` without --type looks for an image, a volume and a network of the name too.
export const Images = { inspect: unaryMethod('/berth.v1.Images/Inspect', ImageRef, JsonDocumentMessage) } satisfies MethodsOf<ImagesMethods>;
export const Volumes = { inspect: unaryMethod('/berth.v1.Volumes/Inspect', VolumeRef, JsonDocumentMessage) } satisfies MethodsOf<VolumesMethods>;
export const Networks = { inspect: unaryMethod('/berth.v1.Networks/Inspect', NetworkRef, JsonDocumentMessage) } satisfies MethodsOf<NetworksMethods>;

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

export async function rm(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, Containers);
  return forEachName(ctx, p.args, (id) => c.remove({ id, force: bool(p, 'force'), volumes: bool(p, 'volumes') }));
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

export async function ps(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, Containers);
  const last = num(p, 'last');
  const latest = bool(p, 'latest');
  const format = str(p, 'format');
  const size = bool(p, 'size') || (format !== '' && format.includes('.Size'));
  const limit = latest && last === -1 ? 1 : Math.max(0, last);
  const res = await c.list({
    all: bool(p, 'all') || limit > 0 || latest,
    limit,
    latest,
    filters: toFilters(list(p, 'filter')),
    size,
  });
  const source = resolveFormat({
    format,
    defaultTable: bool(p, 'size') ? psSizeTable : psDefaultTable,
    quiet: bool(p, 'quiet'),
    quietFormat: '{{.ID}}',
  });
  const trunc = !bool(p, 'no-trunc');
  out(ctx, renderListing(source, res.containers.map((s) => psRow(s, { trunc })), psHeader));
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

// ---------------------------------------------------------------------------------------------
// inspect

type Kind = 'container' | 'image' | 'volume' | 'network';

async function inspectOne(ctx: CommandContext, kind: Kind, ref: string, size = false): Promise<unknown> {
  let doc: JsonDocument;
  if (kind === 'volume') {
    const c = unaryClient(ctx, Volumes);
    doc = await c.inspect({ name: ref });
  } else if (kind === 'network') {
    const c = unaryClient(ctx, Networks);
    doc = await c.inspect({ id: ref });
  } else if (kind === 'container') {
    const c = unaryClient(ctx, Containers);
    doc = await c.inspect({ id: ref, size });
  } else {
    const c = unaryClient(ctx, Images);
    doc = await c.inspect({ ref });
  }
  return JSON.parse(doc.json) as unknown;
}

/**
 * docker inspect: prints every object found (a JSON array, or the --format template per object),
 * then `Error: No such object: x` for each one missing, exit 1 if any was missing.
 */
async function inspectObjects(ctx: CommandContext, p: ParsedArgs, kinds: Kind[], missing: (name: string) => string): Promise<number> {
  return inspectEach(ctx, p, {
    fetch: async (name) => {
      for (const kind of kinds) {
        try {
          return await inspectOne(ctx, kind, name, p.values.size === true);
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
        }
      }
      throw new NotFoundError(missing(name));
    },
    errorLine: (err, name) => (err instanceof NotFoundError ? missing(name) : daemonMessage(err, ctx.host)),
  });
}

export async function inspect(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const type = str(p, 'type');
  if (type === 'container') return inspectObjects(ctx, p, ['container'], (n) => `Error: No such container: ${n}`);
  if (type === 'image') return inspectObjects(ctx, p, ['image'], (n) => `Error: No such image: ${n}`);
  if (type === 'volume') return inspectObjects(ctx, p, ['volume'], (n) => `Error: No such volume: ${n}`);
  if (type === 'network') return inspectObjects(ctx, p, ['network'], (n) => `Error: No such network: ${n}`);
  if (type !== '') throw new StatusError(`"${type}" is not a valid value for --type`, 1);
  return inspectObjects(ctx, p, ['container', 'image', 'volume', 'network'], (n) => `Error: No such object: ${n}`);
}

export async function containerInspect(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  return inspectObjects(ctx, p, ['container'], (n) => `Error: No such container: ${n}`);
}

export async function imageInspect(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  return inspectObjects(ctx, p, ['image'], (n) => `Error: No such image: ${n}`);
}

// ---------------------------------------------------------------------------------------------
// stats

async function sample(ctx: CommandContext, targets: Array<{ id: string; name: string; given?: string }>): Promise<Array<{ entry: StatsEntry; given?: string }>> {
  const c = unaryClient(ctx, Containers);
  return Promise.all(
    targets.map(async (t) => {
      try {
        const doc = await c.stats({ id: t.id });
        return { entry: statsEntry(JSON.parse(doc.json) as DockerStatsJson, t), given: t.given };
      } catch (err) {
        if (!isBerthError(err)) throw err;
        if (t.given !== undefined && err instanceof NotFoundError) throw err;
        return { entry: { ...statsEntry({}, t), invalid: true }, given: t.given };
      }
    }),
  );
}

/** docker stats: a table of CPU, memory, network, block I/O and pids per container. */
export async function stats(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, Containers);
  const trunc = !bool(p, 'no-trunc');
  const source = resolveFormat({ format: str(p, 'format'), defaultTable: statsDefaultTable });
  const targets = async (): Promise<Array<{ id: string; name: string; given?: string }>> => {
    if (p.args.length > 0) return p.args.map((a) => ({ id: a, name: a, given: a }));
    const res = await c.list({ all: bool(p, 'all'), limit: 0, latest: false, filters: [], size: false });
    return res.containers.map((s: ContainerSummary) => ({ id: s.id, name: (s.names[0] ?? '').replace(/^\//, '') }));
  };
  const render = async () => {
    const rows = await sample(ctx, await targets());
    return renderListing(source, rows.map((r) => statsRow(r.entry, { trunc, container: r.given })), statsHeader);
  };
  if (bool(p, 'no-stream')) {
    out(ctx, await render());
    return 0;
  }
  let stopped = false;
  const stopLoop = () => {
    stopped = true;
  };
  ctx.io.signals?.once('SIGINT', stopLoop);
  ctx.cleanup.push(() => ctx.io.signals?.off('SIGINT', stopLoop));
  while (!stopped) {
    const text = await render();
    out(ctx, (ctx.io.stdout.isTTY ? '\x1b[2J\x1b[H' : '') + text);
    await new Promise((r) => setTimeout(r, 1000));
  }
  return 0;
}
