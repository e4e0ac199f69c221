import { type NetworkSummary, ContainersMethods, NetworksMethods } from '@berth/proto';
import { NotFoundError } from '@berth/errors';
import { daemonMessage, StatusError } from '../cli-errors.js';
import { unaryClient } from '../unary-clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, bool, list } from '../flag-values.js';
import { headerContext, renderListing, resolveFormat } from '../table-format.js';
import { keyValueMap } from '../key-value-map.js';
import { labelFields } from '../label-fields.js';
import { FieldContext } from '../template.js';
import { goTimeString } from '../units.js';
import { inspectEach } from './inspect-each.js';
import { forEachObject, out, toFilters } from './shared.js';
import { pruneHandler } from './prune.js';

/** `berth network create | ls | inspect | rm | prune | connect | disconnect` and `berth port`. */


/** At most one value of a list flag (Berth networks have one IPv4 subnet). */
function single(p: ParsedArgs, name: string): string {
  const values = list(p, name);
  if (values.length > 1) throw new StatusError(`Error: only one --${name} is supported per network`, 1);
  return values[0] ?? '';
}

export async function create(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  if (bool(p, 'ipv6')) throw new StatusError('Error response from daemon: IPv6 networks are not supported yet', 1);
  const c = unaryClient(ctx, NetworksMethods);
  const res = await c.create({
    name: p.args[0]!,
    id: '',
    driver: str(p, 'driver'),
    subnet: single(p, 'subnet'),
    gateway: single(p, 'gateway'),
    ipRange: single(p, 'ip-range'),
    internal: bool(p, 'internal'),
    attachable: bool(p, 'attachable'),
    labels: keyValueMap(list(p, 'label')),
    options: keyValueMap(list(p, 'opt')),
  });
  out(ctx, `${res.id}\n`);
  return 0;
}

export const networkDefaultTable = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';

export const networkHeader = headerContext('*formatter.networkContext', [['ID', 'NETWORK ID'], 'Name', 'Driver', 'Scope', 'IPv6', 'Internal', 'Labels', 'Label', 'CreatedAt']);

/** docker's formatter.networkContext. */
export function networkRow(n: NetworkSummary, options: { trunc: boolean }): FieldContext {
  return new FieldContext('*formatter.networkContext', {
    ID: () => (options.trunc ? n.id.slice(0, 12) : n.id),
    Name: () => n.name,
    Driver: () => n.driver,
    Scope: () => n.scope,
    IPv6: () => String(n.ipv6),
    Internal: () => String(n.internal),
    ...labelFields(n.labels),
    CreatedAt: () => goTimeString(Math.floor(Date.parse(n.created) / 1000)),
  });
}

export async function ls(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, NetworksMethods);
  const res = await c.list({ filters: toFilters(list(p, 'filter')) });
  const source = resolveFormat({ format: str(p, 'format'), defaultTable: networkDefaultTable, quiet: bool(p, 'quiet'), quietFormat: '{{.ID}}' });
  const rows = [...res.networks].sort((a, b) => a.name.localeCompare(b.name)).map((n) => networkRow(n, { trunc: !bool(p, 'no-trunc') }));
  out(ctx, renderListing(source, rows, networkHeader));
  return 0;
}

/** docker network inspect: the networks found as a JSON array (or the template per network), then the errors. */
export async function inspect(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, NetworksMethods);
  return inspectEach(ctx, p, {
    fetch: async (id) => JSON.parse((await c.inspect({ id })).json) as unknown,
    errorLine: (err, id) => (err instanceof NotFoundError ? `Error: No such network: ${id}` : daemonMessage(err, ctx.host)),
  });
}

export async function rm(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, NetworksMethods);
  return forEachObject(ctx, p.args, async (id) => {
    try {
      await c.remove({ id });
    } catch (err) {
      if (bool(p, 'force') && err instanceof NotFoundError) return undefined;
      throw err;
    }
    return id;
  });
}

export const prune = pruneHandler(NetworksMethods, {
  warning: 'WARNING! This will remove all custom networks not used by at least one container.',
  heading: 'Deleted Networks',
  deleted: (res) => res.deleted,
});

export async function connect(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, NetworksMethods);
  const [network, container] = p.args as [string, string];
  await c.connect({ network, container, aliases: list(p, 'alias'), ipv4Address: str(p, 'ip') });
  return 0;
}

export async function disconnect(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, NetworksMethods);
  const [network, container] = p.args as [string, string];
  await c.disconnect({ network, container, force: bool(p, 'force') });
  return 0;
}

interface PortsView {
  Name?: string;
  NetworkSettings?: { Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> };
}

/**
 * docker port: every published mapping (`80/tcp -> 0.0.0.0:8080`), or the host addresses of one
 * private port (`0.0.0.0:8080`); `Error: No public port '80/tcp' published for web` otherwise.
 */
export async function port(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const [container, wanted] = p.args as [string, string | undefined];
  const c = unaryClient(ctx, ContainersMethods);
  const view = JSON.parse((await c.inspect({ id: container })).json) as PortsView;
  const ports = view.NetworkSettings?.Ports ?? {};
  const keyOf = (k: string) => (k.includes('/') ? k : `${k}/tcp`);
  if (wanted !== undefined) {
    const key = keyOf(wanted);
    const bindings = ports[key];
    if (!bindings || bindings.length === 0) {
      throw new StatusError(`Error: No public port '${key}' published for ${container}`, 1);
    }
    out(ctx, bindings.map((b) => `${b.HostIp || '0.0.0.0'}:${b.HostPort}\n`).join(''));
    return 0;
  }
  const keys = Object.keys(ports).sort((a, b) => Number(a.split('/')[0]) - Number(b.split('/')[0]) || a.localeCompare(b));
  for (const key of keys) {
    for (const b of ports[key] ?? []) out(ctx, `${key} -> ${b.HostIp || '0.0.0.0'}:${b.HostPort}\n`);
  }
  return 0;
}
