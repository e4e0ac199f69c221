import { unary, serverStream, StreamKind, type ContainerSummary, type JsonDocument, ContainersClient, ImagesClient, NetworksClient, VolumesClient } from '@berth/proto';
import { isBerthError, NotFoundError } from '@berth/errors';
import { daemonMessage, StatusError } from '../cli-errors.js';
import { client } from '../clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, bool, list, num } from '../flag-values.js';
import { logDetails } from '../log-details.js';
import { psDefaultTable, psHeader, psRow, psSizeTable } from '../row-contexts.js';
import { statsDefaultTable, statsEntry, statsHeader, statsRow, type DockerStatsJson, type StatsEntry } from '../stats.js';
import { tabwrite } from '../tabwriter.js';
import { timeFlag } from '../time-flags.js';
import { renderListing, resolveFormat } from '../table-format.js';
import { inspectEach } from './inspect-each.js';
import { forEachName, forEachObject, out, toFilters, writeChunks } from './shared.js';
import { prune as pruneKind } from './prune.js';

/** Container commands that are one gRPC call per container, and the listings (ps, inspect, stats, logs…). */


export async function stop(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  const timeout = p.changed.has('timeout') ? num(p, 'timeout') : undefined;
  return forEachName(ctx, p.args, (id) => unary(c, c.stop, { id, timeout, signal: str(p, 'signal') }));
}

export async function restart(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  const timeout = p.changed.has('timeout') ? num(p, 'timeout') : undefined;
  return forEachName(ctx, p.args, (id) => unary(c, c.restart, { id, timeout, signal: str(p, 'signal') }));
}

export async function kill(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  return forEachName(ctx, p.args, (id) => unary(c, c.kill, { id, signal: str(p, 'signal') }));
}

export async function rm(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  return forEachName(ctx, p.args, (id) => unary(c, c.remove, { id, force: bool(p, 'force'), volumes: bool(p, 'volumes') }));
}

export async function pause(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  return forEachName(ctx, p.args, (id) => unary(c, c.pause, { id }));
}

export async function unpause(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  return forEachName(ctx, p.args, (id) => unary(c, c.unpause, { id }));
}

/** Prints each container's exit code once it has stopped. */
export async function wait(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  return forEachObject(ctx, p.args, async (id) => {
    const res = await unary(c, c.wait, { id, condition: '' });
    return String(res.statusCode);
  });
}

export async function rename(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  const [id, name] = p.args as [string, string];
  if (!name.trim()) throw new StatusError('Error: neither old nor new names may be empty', 1);
  await unary(c, c.rename, { id, name });
  return 0;
}

export async function ps(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  const last = num(p, 'last');
  const latest = bool(p, 'latest');
  const format = str(p, 'format');
  const size = bool(p, 'size') || (format !== '' && format.includes('.Size'));
  const limit = latest && last === -1 ? 1 : Math.max(0, last);
  const res = await unary(c, c.list, {
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

export async function logs(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  const timestamps = bool(p, 'timestamps');
  const since = timeFlag(str(p, 'since'), 'invalid value for "since": ');
  const until = timeFlag(str(p, 'until'), 'invalid value for "until": ');
  const call = c.logs({
    id: p.args[0]!,
    follow: bool(p, 'follow'),
    stdout: true,
    stderr: true,
    since,
    until,
    tail: str(p, 'tail'),
    timestamps,
  });
  ctx.cleanup.push(() => call.cancel());
  const details = bool(p, 'details') ? await logDetails(ctx, p.args[0]!) : '';
  for await (const entry of serverStream(call)) {
    const target = entry.stream === StreamKind.STREAM_KIND_STDERR ? ctx.io.stderr : ctx.io.stdout;
    // The time comes in its own field; the data never carries it.
    if (timestamps && entry.time) target.write(`${entry.time} `);
    if (details) target.write(details);
    target.write(entry.data);
  }
  return 0;
}

export async function top(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  const [id, ...psArgs] = p.args;
  const res = await unary(c, c.top, { id: id!, psArgs: psArgs.join(' ') });
  const lines = [res.titles.join('\t'), ...res.processes.map((row) => row.columns.join('\t'))];
  out(ctx, tabwrite(lines.join('\n') + '\n', { minWidth: 20, padding: 3 }));
  return 0;
}

export async function diff(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  const res = await unary(c, c.diff, { id: p.args[0]! });
  out(ctx, res.changes.map((change) => `${change.kind} ${change.path}\n`).join(''));
  return 0;
}

export async function exportContainer(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  const output = str(p, 'output');
  if (!output && ctx.io.stdout.isTTY) throw new StatusError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
  const call = c.export({ id: p.args[0]! });
  ctx.cleanup.push(() => call.cancel());
  await writeChunks(ctx, serverStream(call), output);
  return 0;
}

export function prune(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  return pruneKind(ctx, p, {
    warning: 'WARNING! This will remove all stopped containers.',
    prune: (filters) => unary(c, c.prune, { filters }),
    heading: 'Deleted Containers',
    deleted: (res) => res.deleted,
    reclaimed: (res) => res.spaceReclaimed,
  });
}

// ---------------------------------------------------------------------------------------------
// inspect

type Kind = 'container' | 'image' | 'volume' | 'network';

async function inspectOne(ctx: CommandContext, kind: Kind, ref: string, size = false): Promise<unknown> {
  let doc: JsonDocument;
  if (kind === 'volume') {
    const c = client(ctx, VolumesClient);
    doc = await unary(c, c.inspect, { name: ref });
  } else if (kind === 'network') {
    const c = client(ctx, NetworksClient);
    doc = await unary(c, c.inspect, { id: ref });
  } else if (kind === 'container') {
    const c = client(ctx, ContainersClient);
    doc = await unary(c, c.inspect, { id: ref, size });
  } else {
    const c = client(ctx, ImagesClient);
    doc = await unary(c, c.inspect, { ref });
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
  const c = client(ctx, ContainersClient);
  return Promise.all(
    targets.map(async (t) => {
      try {
        const doc = await unary(c, c.stats, { id: t.id });
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
  const c = client(ctx, ContainersClient);
  const trunc = !bool(p, 'no-trunc');
  const source = resolveFormat({ format: str(p, 'format'), defaultTable: statsDefaultTable });
  const targets = async (): Promise<Array<{ id: string; name: string; given?: string }>> => {
    if (p.args.length > 0) return p.args.map((a) => ({ id: a, name: a, given: a }));
    const res = await unary(c, c.list, { all: bool(p, 'all'), limit: 0, latest: false, filters: [], size: false });
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
