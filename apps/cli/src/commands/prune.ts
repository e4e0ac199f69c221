import type { Filter } from '@berth/proto';
import type { CommandContext } from '../context.js';
import { bool, list } from '../flag-values.js';
import type { ParsedArgs } from '../flags.js';
import { unaryClient } from '../unary-clients.js';
import type { UnaryMethod } from '../unary-transport.js';
import { humanSize } from '../units.js';
import { confirm, out, printDeleted, toFilters } from './shared.js';

/** What sets one `<kind> prune` apart: docker's warning, and how it reports. */
export interface PruneKind<R> {
  /** The warning before `Are you sure you want to continue?` (no prompt with --force). */
  warning: string;
  /** Of a kind with `-a, --all` (images, volumes): the warning with it; its prune request then has `all`. */
  allWarning?: string;
  /** The heading of the deleted objects (`Deleted Containers`). */
  heading: string;
  /** One line per deleted object. */
  deleted: (res: R) => string[];
  /** The bytes freed; networks free none, and their prune prints no total. */
  reclaimed?: (res: R) => number;
}

/**
 * The handler of a `container|image|volume|network prune`, over its service's Prune
 * (`ContainersMethods`): confirm, prune with the --filter words (and --all), report as docker does.
 */
export function pruneHandler<Req extends { filters: Filter[] }, R>(service: { prune: UnaryMethod<Req, R> }, kind: PruneKind<R>) {
  return async (ctx: CommandContext, p: ParsedArgs): Promise<number> => {
    const all = bool(p, 'all');
    const c = unaryClient(ctx, { prune: service.prune });
    if (!bool(p, 'force') && !(await confirm(ctx, all && kind.allWarning !== undefined ? kind.allWarning : kind.warning))) return 0;
    const filters = toFilters(list(p, 'filter'));
    // Only the kinds with --all have it in their request.
    const res = await c.prune((kind.allWarning === undefined ? { filters } : { all, filters }) as Req);
    printDeleted(ctx, kind.heading, kind.deleted(res));
    if (kind.reclaimed) out(ctx, `Total reclaimed space: ${humanSize(kind.reclaimed(res))}\n`);
    return 0;
  };
}
