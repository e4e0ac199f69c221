import { InvalidArgumentError } from '@berth/errors';
import { type GarbageCollectResponse, type ListRepositoriesResponse, type RegistryUsageResponse, RegistryMethods } from '@berth/proto';
import { unaryClient } from '../unary-clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { dockerTable, tabwrite } from '../tabwriter.js';
import { humanSize } from '../units.js';
import { forEachObject, out } from './shared.js';

/**
 * `berth registry ls|df|gc`: the platform registry's admin API (the gateway forwards the
 * Registry service to the registry announced on NATS). `--format json` prints the answer as JSON.
 */

const json = (p: ParsedArgs) => p.values.format === 'json';

/** `berth registry ls`: one line per tag (repositories without tags show `<none>`). */
export async function ls(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, RegistryMethods);
  const res: ListRepositoriesResponse = await c.listRepositories({});
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
  const c = unaryClient(ctx, RegistryMethods);
  const res: RegistryUsageResponse = await c.usage({});
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
  const c = unaryClient(ctx, RegistryMethods);
  const dryRun = p.values['dry-run'] === true;
  const res: GarbageCollectResponse = await c.garbageCollect({ dryRun, grace: (p.values.grace as string | undefined) ?? '' });
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

/**
 * `berth registry rm REPO[:TAG|@DIGEST]...`: removes a tag, a manifest with its tags, or (REPO
 * alone) the whole repository, printing docker rmi's `Untagged:` / `Deleted:` lines. The bytes go
 * at the next `berth registry gc`. Each argument is tried; the failures are printed at the end, exit 1.
 */
export async function rm(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, RegistryMethods);
  return forEachObject(ctx, p.args, async (arg) => {
    const { repository, reference } = parseRepositoryReference(arg);
    const res = await c.remove({ repository, reference });
    const lines = [
      ...res.untagged.map((tag) => `Untagged: ${repository}:${tag}`),
      ...res.deleted.map((digest) => `Deleted: ${repository}@${digest}`),
      ...(res.repositoryRemoved ? [`Deleted: ${repository}`] : []),
    ];
    return lines.length > 0 ? lines.join('\n') : undefined;
  });
}

/**
 * `team/web`, `team/web:v1`, `team/web@sha256:…`: a repository as `berth registry ls` prints it
 * (no registry host: the platform registry is the one meant), with an optional tag or digest.
 */
export function parseRepositoryReference(arg: string): { repository: string; reference: string } {
  const at = arg.indexOf('@');
  const [name, digest] = at < 0 ? [arg, undefined] : [arg.slice(0, at), arg.slice(at + 1)];
  const colon = name.lastIndexOf(':');
  const [repository, tag] = colon > name.lastIndexOf('/') ? [name.slice(0, colon), name.slice(colon + 1)] : [name, undefined];
  const first = repository.split('/')[0]!;
  if (repository.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    throw new InvalidArgumentError(
      `Invalid repository "${arg}": give it as "berth registry ls" prints it, without the registry host "${first}" (e.g. "${arg.slice(first.length + 1)}")`,
    );
  }
  if (repository === '' || (tag !== undefined && digest !== undefined) || tag === '' || digest === '') {
    throw new InvalidArgumentError(`Invalid reference "${arg}": expected REPOSITORY, REPOSITORY:TAG or REPOSITORY@DIGEST`);
  }
  return { repository, reference: digest ?? tag ?? '' };
}
