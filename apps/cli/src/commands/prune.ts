import type { Filter } from '@berth/proto';
import type { CommandContext } from '../context.js';
import { bool, list } from '../flag-values.js';
import type { ParsedArgs } from '../flags.js';
import { humanSize } from '../units.js';
import { confirm, out, toFilters } from './shared.js';

/** What sets one `<kind> prune` apart: docker's warning, the call, and how it reports. */
export interface PruneKind<R> {
  /** The warning before `Are you sure you want to continue?` (no prompt with --force). */
  warning: string;
  prune: (filters: Filter[]) => Promise<R>;
  /** The heading of the deleted objects (`Deleted Containers`). */
  heading: string;
  /** One line per deleted object. */
  deleted: (res: R) => string[];
  /** The bytes freed; networks free none, and their prune prints no total. */
  reclaimed?: (res: R) => number;
}

/** A `container|image|volume|network prune`: confirm, prune with the --filter words, report as docker does. */
export async function prune<R>(ctx: CommandContext, p: ParsedArgs, kind: PruneKind<R>): Promise<number> {
  if (!bool(p, 'force') && !(await confirm(ctx, kind.warning))) return 0;
  const res = await kind.prune(toFilters(list(p, 'filter')));
  printDeleted(ctx, kind.heading, kind.deleted(res));
  if (kind.reclaimed) out(ctx, `Total reclaimed space: ${humanSize(kind.reclaimed(res))}\n`);
  return 0;
}

/** docker's list of pruned objects: the heading, one line each, a blank line; nothing when none. */
export function printDeleted(ctx: CommandContext, heading: string, lines: string[]): void {
  if (lines.length > 0) out(ctx, `${heading}:\n${lines.map((line) => `${line}\n`).join('')}\n`);
}
