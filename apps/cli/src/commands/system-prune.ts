import { parseTimeArg } from '@berth/filters';
import { BuilderClient, channelOptions, grpcTarget, unary, ContainersClient, ImagesClient, NetworksClient, VolumesClient } from '@berth/proto';
import { StatusError } from '../cli-errors.js';
import { channelCredentials, client } from '../clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { humanSize } from '../units.js';
import { confirm, out, printDeleted, removedLines, toFilters } from './shared.js';

/**
 * `berth system prune` (docker system prune): stopped containers, unused networks, dangling (or,
 * with -a, unused) images, unused build cache and, with --volumes, anonymous volumes, in docker's
 * order, with its confirmation text, its per-type output and "Total reclaimed space:".
 */

/** docker's confirmationTemplate, filled. */
export function pruneConfirmation(options: { all: boolean; volumes: boolean; filters: string[] }): string {
  const warnings = ['all stopped containers', 'all networks not used by at least one container'];
  if (options.volumes) warnings.push('all anonymous volumes not used by at least one container');
  warnings.push(options.all ? 'all images without at least one container associated to them' : 'all dangling images');
  warnings.push(options.all ? 'all build cache' : 'unused build cache');
  let text = `WARNING! This will remove:\n${warnings.map((w) => `  - ${w}`).join('\n')}\n`;
  // docker lists the label, label! and until filters, naturally sorted
  const shown = options.filters.filter((f) => /^(label|label!|until)=/.test(f)).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  if (shown.length > 0) text += `\n  Items to be pruned will be filtered with:\n${shown.map((f) => `  - ${f}`).join('\n')}\n`;
  return text;
}

export async function systemPrune(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const all = p.values.all as boolean;
  const volumes = p.values.volumes as boolean;
  const words = (p.values.filter as string[]).map((w) => {
    const eq = w.indexOf('=');
    return `${w.slice(0, eq).trim().toLowerCase()}=${w.slice(eq + 1).trim()}`;
  });
  if (volumes && words.some((w) => w.startsWith('until='))) throw new StatusError('ERROR: The "until" filter is not supported with "--volumes"', 1);
  // docker's prompt: the warning, a blank line, then the question (shared.confirm adds " [y/N] ").
  if (!(p.values.force as boolean) && !(await confirm(ctx, pruneConfirmation({ all, volumes, filters: words })))) return 0;
  const filters = toFilters(words);
  let reclaimed = 0;

  const containers = client(ctx, ContainersClient);
  const c = await unary(containers, containers.prune, { filters });
  printDeleted(ctx, 'Deleted Containers', c.deleted);
  reclaimed += c.spaceReclaimed;

  const networks = client(ctx, NetworksClient);
  const n = await unary(networks, networks.prune, { filters });
  printDeleted(ctx, 'Deleted Networks', n.deleted);

  if (volumes) {
    const vols = client(ctx, VolumesClient);
    const v = await unary(vols, vols.prune, { all: false, filters });
    printDeleted(ctx, 'Deleted Volumes', v.deleted);
    reclaimed += v.spaceReclaimed;
  }

  const images = client(ctx, ImagesClient);
  const i = await unary(images, images.prune, { all, filters });
  printDeleted(ctx, 'Deleted Images', removedLines(i.deleted, true));
  reclaimed += i.spaceReclaimed;

  const builder = new BuilderClient(grpcTarget(ctx.host), channelCredentials(ctx), channelOptions);
  ctx.cleanup.push(() => builder.close());
  const until = words.find((w) => w.startsWith('until='))?.slice('until='.length);
  const b = await unary(builder, builder.prune, { keepDurationSeconds: until ? keepSeconds(until) : 0 });
  reclaimed += b.reclaimed;

  out(ctx, `Total reclaimed space: ${humanSize(reclaimed)}\n`);
  return 0;
}

/** The build cache to keep for `until=`: what is younger than the time (a duration ago, or a timestamp). */
function keepSeconds(until: string): number {
  let at: number;
  try {
    at = parseTimeArg(until);
  } catch {
    throw new StatusError(`invalid filter 'until=${until}'`, 1);
  }
  return Math.max(0, Math.round((Date.now() - at) / 1000));
}
