import { ImagesMethods } from '@berth/proto';
import { StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, bool, list } from '../flag-values.js';
import { renderImageTree } from '../image-tree.js';
import { historyDefaultTable, historyHeader, historyRow, imageRows, imagesDefaultTable, imagesDigestTable, imagesHeader } from '../row-contexts.js';
import { renderListing, resolveFormat } from '../table-format.js';
import { forEachObject, out, removedLines, toFilters } from './shared.js';
import { pruneHandler } from './prune.js';
import { unaryClient } from '../unary-clients.js';

/**
 * Image commands of one call each: listings, history, tag, rmi, prune, commit, over unary-clients.ts
 * (no @grpc/grpc-js); the ones that stream tars (import, save, load) and bootstrap: image-streams.ts.
 */

export async function images(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, ImagesMethods);
  const filters = toFilters(list(p, 'filter'));
  if (p.args[0]) filters.push({ key: 'reference', value: p.args[0] });
  if (bool(p, 'tree')) {
    // docker 28's checks, in its order.
    if (bool(p, 'quiet')) throw new StatusError('--quiet is not yet supported with --tree', 1);
    if (bool(p, 'no-trunc')) throw new StatusError('--no-trunc is not yet supported with --tree', 1);
    if (bool(p, 'digests')) throw new StatusError('--show-digests is not yet supported with --tree', 1);
    if (str(p, 'format')) throw new StatusError('--format is not yet supported with --tree', 1);
    const res = await c.list({ all: bool(p, 'all'), filters, manifests: true });
    const stdout = ctx.io.stdout as { isTTY?: boolean; columns?: number };
    out(ctx, renderImageTree(res.images, stdout.isTTY ? (stdout.columns ?? 80) : 80));
    return 0;
  }
  const res = await c.list({ all: bool(p, 'all'), filters, manifests: false });
  const digests = bool(p, 'digests');
  const trunc = !bool(p, 'no-trunc');
  const source = resolveFormat({
    format: str(p, 'format'),
    defaultTable: digests ? imagesDigestTable : imagesDefaultTable,
    quiet: bool(p, 'quiet'),
    quietFormat: '{{.ID}}',
  });
  const rows = res.images.flatMap((image) => imageRows(image, { trunc, digests }));
  out(ctx, renderListing(source, rows, imagesHeader));
  return 0;
}

export async function history(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, ImagesMethods);
  const res = await c.history({ ref: p.args[0]! });
  const source = resolveFormat({ format: str(p, 'format'), defaultTable: historyDefaultTable, quiet: bool(p, 'quiet'), quietFormat: '{{.ID}}' });
  const options = { trunc: !bool(p, 'no-trunc'), human: bool(p, 'human') };
  out(ctx, renderListing(source, res.entries.map((e) => historyRow(e, options)), historyHeader));
  return 0;
}

export async function tag(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, ImagesMethods);
  await c.tag({ source: p.args[0]!, target: p.args[1]! });
  return 0;
}

export async function rmi(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, ImagesMethods);
  return forEachObject(ctx, p.args, async (ref) => {
    const res = await c.remove({ ref, force: bool(p, 'force'), noPrune: bool(p, 'no-prune') });
    return res.items.length > 0 ? removedLines(res.items).join('\n') : undefined;
  });
}

export const prune = pruneHandler(ImagesMethods, {
  warning: 'WARNING! This will remove all dangling images.',
  allWarning: 'WARNING! This will remove all images without at least one container associated to them.',
  heading: 'Deleted Images',
  deleted: (res) => removedLines(res.deleted, true),
  reclaimed: (res) => res.spaceReclaimed,
});

export async function commit(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, ImagesMethods);
  const res = await c.commit({
    container: p.args[0]!,
    ref: p.args[1] ?? '',
    author: str(p, 'author'),
    message: str(p, 'message'),
    changes: list(p, 'change'),
    pause: bool(p, 'pause'),
  });
  out(ctx, `${res.id}\n`);
  return 0;
}
