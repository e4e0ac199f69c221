import { type Volume, VolumesMethods } from '@berth/proto';
import { StatusError } from '../cli-errors.js';
import { unaryClient } from '../unary-clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, bool, list } from '../flag-values.js';
import { headerContext, renderListing, resolveFormat } from '../table-format.js';
import { keyValueMap } from '../key-value-map.js';
import { labelFields } from '../label-fields.js';
import { FieldContext } from '../template.js';
import { inspectEach } from './inspect-each.js';
import { forEachName, out, toFilters } from './shared.js';
import { pruneHandler } from './prune.js';

/** `berth volume create | ls | inspect | rm | prune` (docker's volume commands). */


export async function create(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const name = p.args[0] ?? str(p, 'name');
  if (p.args[0] && str(p, 'name') && str(p, 'name') !== p.args[0]) {
    throw new StatusError(`conflicting options: cannot specify a volume-name through both --name and as a positional arg`, 1);
  }
  const c = unaryClient(ctx, VolumesMethods);
  const volume = await c.create({
    name,
    driver: str(p, 'driver'),
    labels: keyValueMap(list(p, 'label')),
    driverOpts: keyValueMap(list(p, 'opt')),
  });
  out(ctx, `${volume.name}\n`);
  return 0;
}

export const volumeDefaultTable = 'table {{.Driver}}\t{{.Name}}';

export const volumeHeader = headerContext('*formatter.volumeContext', [['Name', 'VOLUME NAME'], 'Driver', 'Scope', 'Mountpoint', 'Labels', 'Label', 'Links', 'Size']);

/** docker's formatter.volumeContext. */
export function volumeRow(v: Volume): FieldContext {
  return new FieldContext('*formatter.volumeContext', {
    Name: () => v.name,
    Driver: () => v.driver,
    Scope: () => v.scope,
    Mountpoint: () => v.mountpoint,
    ...labelFields(v.labels),
    Links: () => 'N/A',
    Size: () => 'N/A',
  });
}

export async function ls(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, VolumesMethods);
  const res = await c.list({ filters: toFilters(list(p, 'filter')) });
  const source = resolveFormat({ format: str(p, 'format'), defaultTable: volumeDefaultTable, quiet: bool(p, 'quiet'), quietFormat: '{{.Name}}' });
  out(ctx, renderListing(source, res.volumes.map(volumeRow), volumeHeader));
  return 0;
}

/** docker volume inspect: the volumes found as a JSON array (or the template per volume), then the errors. */
export async function inspect(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, VolumesMethods);
  return inspectEach(ctx, p, { fetch: async (name) => JSON.parse((await c.inspect({ name })).json) as unknown });
}

export async function rm(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, VolumesMethods);
  return forEachName(ctx, p.args, (name) => c.remove({ name, force: bool(p, 'force') }));
}

export const prune = pruneHandler(VolumesMethods, {
  warning: 'WARNING! This will remove anonymous local volumes not used by at least one container.',
  allWarning: 'WARNING! This will remove all local volumes not used by at least one container.',
  heading: 'Deleted Volumes',
  deleted: (res) => res.deleted,
  reclaimed: (res) => res.spaceReclaimed,
});
