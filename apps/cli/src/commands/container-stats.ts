import { type ContainerSummary, type ContainersMethods, ContainerRef, JsonDocument, ListContainersRequest, ListContainersResponse } from '@berth/proto';
import { isBerthError, NotFoundError } from '@berth/errors';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { bool, str } from '../flag-values.js';
import { statsDefaultTable, statsEntry, statsHeader, statsRow, type DockerStatsJson, type StatsEntry } from '../stats.js';
import { renderListing, resolveFormat } from '../table-format.js';
import { out } from './shared.js';
import { unaryClient, unaryMethod, type MethodsOf } from '../unary-clients.js';

/** `stats`: samples over unary calls, a module of its own as `ps` and `inspect` (their packs stay small). */

export const Containers = {
  list: unaryMethod('/berth.v1.Containers/List', ListContainersRequest, ListContainersResponse),
  stats: unaryMethod('/berth.v1.Containers/Stats', ContainerRef, JsonDocument),
} satisfies MethodsOf<ContainersMethods>;

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
