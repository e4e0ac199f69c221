import { type ContainersMethods, ListContainersRequest, ListContainersResponse } from '@berth/proto';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { bool, list, num, str } from '../flag-values.js';
import { psDefaultTable, psHeader, psRow, psSizeTable } from '../row-contexts.js';
import { renderListing, resolveFormat } from '../table-format.js';
import { out, toFilters } from './shared.js';
import { unaryClient, unaryMethod, type MethodsOf } from '../unary-clients.js';

/**
 * `ps`: a module of its own, so that its pack holds the code of its own messages and its code cache
 * what `ps` runs (bench/README.md, "ps, inspect, rm: a pack per command").
 */

export const Containers = {
  list: unaryMethod('/berth.v1.Containers/List', ListContainersRequest, ListContainersResponse),
} satisfies MethodsOf<ContainersMethods>;

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
