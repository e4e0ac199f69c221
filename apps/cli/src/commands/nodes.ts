import { type Node, type NodeDrain, NodesMethods } from '@berth/proto';
import { StatusError } from '../cli-errors.js';
import { unaryClient } from '../unary-clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, list } from '../flag-values.js';
import { FormatError, headerContext, renderListing, resolveFormat } from '../table-format.js';
import { FieldContext } from '../template.js';
import { humanSize } from '../units.js';
import { goJson, out } from './shared.js';

/** `berth node ls | inspect | update | rm`. */


export const nodeDefaultTable = 'table {{.ID}}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.Containers}}\t{{.CPU}}\t{{.Memory}}\t{{.Labels}}';

const header = headerContext('*formatter.nodeContext', {
  ID: 'ID',
  Hostname: 'HOSTNAME',
  Status: 'STATUS',
  Availability: 'AVAILABILITY',
  Containers: 'CONTAINERS',
  CPU: 'CPU',
  Memory: 'MEMORY',
  Labels: 'LABELS',
  Address: 'ADDRESS',
  Drain: 'DRAIN',
});

/**
 * How far a drain got, in a line (`node inspect`'s Status.Message, `node ls --format {{.Drain}}`):
 * "" when the node is not draining.
 */
export function drainSummary(d: NodeDrain | undefined): string {
  if (!d) return '';
  const moved = `${d.moved} container${d.moved === 1 ? '' : 's'} moved to other nodes`;
  if (d.state === 'drained') return `drained: ${moved}`;
  if (d.state === 'draining') return `draining: ${moved} so far`;
  const staying = d.staying.map((c) => `"${c.name || c.id.slice(0, 12)}" (${c.reason})`).join('; ');
  return `drain incomplete: ${moved}, ${d.staying.length} stay${d.staying.length === 1 ? 's' : ''} on this node: ${staying}`;
}

function nodeRow(n: Node): FieldContext {
  return new FieldContext('*formatter.nodeContext', {
    ID: () => n.id,
    Hostname: () => n.hostname,
    Status: () => n.status,
    Availability: () => n.availability,
    Containers: () => (n.status === 'ready' ? String(n.containers) : '-'),
    CPU: () => (n.cpus > 0 ? String(n.cpus) : '-'),
    Memory: () => (n.memoryBytes > 0 ? humanSize(n.memoryBytes) : '-'),
    Labels: () => Object.entries(n.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(','),
    Address: () => n.address,
    Drain: () => drainSummary(n.drain),
  });
}

export async function ls(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, NodesMethods);
  const { nodes } = await c.list({});
  const source = resolveFormat({ format: str(p, 'format'), defaultTable: nodeDefaultTable, quiet: p.values.quiet as boolean, quietFormat: '{{.ID}}' });
  try {
    out(ctx, renderListing(source, nodes.map(nodeRow), header));
  } catch (err) {
    if (err instanceof FormatError) throw new StatusError(err.message, 1);
    throw err;
  }
  return 0;
}

export async function inspect(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, NodesMethods);
  const found: unknown[] = [];
  for (const id of p.args) {
    const n = await c.inspect({ id });
    found.push({
      ID: n.id,
      Description: { Hostname: n.hostname, Resources: { NanoCPUs: n.cpus * 1e9, MemoryBytes: n.memoryBytes } },
      Spec: { Availability: n.availability, Labels: n.labels },
      Status: { State: n.status, Message: drainSummary(n.drain), Addr: n.address },
      ...(n.drain ? { Drain: { State: n.drain.state, Moved: n.drain.moved, Staying: n.drain.staying.map((c) => ({ ID: c.id, Name: c.name, Reason: c.reason })) } } : {}),
      Containers: n.containers,
      StartedAt: n.startedAt ? new Date(n.startedAt).toISOString() : '',
      LastSeen: n.lastSeen ? new Date(n.lastSeen).toISOString() : '',
    });
  }
  const format = str(p, 'format');
  if (format) {
    out(ctx, renderListing(format, found.map((f) => new FieldContext('*swarm.Node', Object.fromEntries(Object.entries(f as object).map(([k, v]) => [k, () => v])))), header));
  } else out(ctx, `${goJson(found)}\n`);
  return 0;
}

export async function update(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, NodesMethods);
  const labelAdd: Record<string, string> = {};
  for (const pair of list(p, 'label-add')) {
    const eq = pair.indexOf('=');
    labelAdd[eq < 0 ? pair : pair.slice(0, eq)] = eq < 0 ? '' : pair.slice(eq + 1);
  }
  const n = await c.update({ id: p.args[0]!, availability: str(p, 'availability'), labelAdd, labelRm: list(p, 'label-rm') });
  out(ctx, `${n.id}\n`);
  return 0;
}

export async function rm(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, NodesMethods);
  for (const id of p.args) {
    await c.remove({ id, force: p.values.force as boolean });
    out(ctx, `${id}\n`);
  }
  return 0;
}
