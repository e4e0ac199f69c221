import { unary, type GarbageCollectResponse, type ListRepositoriesResponse, type RegistryUsageResponse } from '@berth/proto';
import { client } from '../clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { dockerTable, tabwrite } from '../tabwriter.js';
import { humanSize } from '../units.js';
import { out } from './shared.js';

/**
 * `berth registry ls|df|gc`: the platform registry's admin API (the gateway forwards the
 * Registry service to the registry announced on NATS). `--format json` prints the answer as JSON.
 */

const json = (p: ParsedArgs) => p.values.format === 'json';

/** `berth registry ls`: one line per tag (repositories without tags show `<none>`). */
export async function ls(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, 'registry');
  const res: ListRepositoriesResponse = await unary(c, c.listRepositories, {});
  if (json(p)) {
    out(ctx, `${JSON.stringify(res.repositories)}\n`);
    return 0;
  }
  let text = 'REPOSITORY\tTAG\tDIGEST\n';
  for (const repo of res.repositories) {
    if (repo.tags.length === 0) text += `${repo.name}\t<none>\t<none>\n`;
    for (const tag of repo.tags) text += `${repo.name}\t${tag.name}\t${tag.digest}\n`;
  }
  out(ctx, tabwrite(text, dockerTable));
  return 0;
}

/** `berth registry df`: blobs and bytes per repository, then the store's total (shared blobs once). */
export async function df(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, 'registry');
  const res: RegistryUsageResponse = await unary(c, c.usage, {});
  if (json(p)) {
    out(ctx, `${JSON.stringify(res)}\n`);
    return 0;
  }
  let text = 'REPOSITORY\tTAGS\tMANIFESTS\tBLOBS\tSIZE\n';
  for (const r of res.repositories) text += `${r.name}\t${r.tags}\t${r.manifests}\t${r.blobs}\t${humanSize(r.bytes)}\n`;
  out(ctx, tabwrite(text, dockerTable));
  out(ctx, `\nTotal: ${res.blobs} blobs, ${humanSize(res.bytes)}${res.uploads > 0 ? ` (${res.uploads} uploads in progress)` : ''}\n`);
  return 0;
}

/** `berth registry gc [--dry-run] [--grace 1h]`: removes unreferenced blobs and stale uploads. */
export async function gc(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, 'registry');
  const dryRun = p.values['dry-run'] === true;
  const res: GarbageCollectResponse = await unary(c, c.garbageCollect, { dryRun, grace: (p.values.grace as string | undefined) ?? '' });
  if (json(p)) {
    out(ctx, `${JSON.stringify(res)}\n`);
    return 0;
  }
  const verb = dryRun ? 'Would delete' : 'Deleted';
  for (const blob of res.removed) out(ctx, `${verb} blob: ${blob.digest} (${humanSize(blob.size)})\n`);
  if (res.removedUploads > 0) out(ctx, `${verb} ${res.removedUploads} stale uploads\n`);
  if (res.keptRecent > 0) out(ctx, `Kept ${res.keptRecent} unreferenced blobs younger than the grace period\n`);
  out(ctx, `${dryRun ? 'Total reclaimable space' : 'Total reclaimed space'}: ${humanSize(res.freedBytes)}\n`);
  return 0;
}
