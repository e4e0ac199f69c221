import { declarationsUnavailable, describeGap, Label, modelOf, observedContainer, projectContainers, watcherGaps, type ComposeSession, type Declaration, type ObservedContainer } from '@berth/compose-controller';
import { StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { bool } from '../flag-values.js';
import { psRow } from '../row-contexts.js';
import { headerContext, renderListing, resolveFormat } from '../table-format.js';
import { tabwrite } from '../tabwriter.js';
import { FieldContext } from '../template.js';
import { composeSession, projectTarget, warn } from './session.js';
import { serviceContainers } from './targets.js';

/** `compose ps` and `compose ls`: compose v2's columns, formats and filters. */


export const composePsTable = 'table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}';

const psHeader = headerContext('api.ContainerSummary', [['ID', 'CONTAINER ID'], 'Name', 'Names', 'Image', 'Command', 'Project', 'Service', 'CreatedAt', ['RunningFor', 'CREATED'], 'State', 'Status', 'Health', 'ExitCode', 'Ports', 'Labels', 'Networks']);

/** A `compose ps` row: docker's container fields plus compose's (Name, Project, Service, Health, ExitCode). */
export function composePsRow(c: ObservedContainer, options: { trunc: boolean }): FieldContext {
  const base = psRow(c.summary, { trunc: options.trunc });
  const from = (field: string) => () => base.get(field, []);
  const health = /\((healthy|unhealthy|health: starting)\)/.exec(c.status)?.[1]?.replace('health: ', '') ?? '';
  const exit = /^Exited \((-?\d+)\)/.exec(c.status);
  return new FieldContext('api.ContainerSummary', {
    ID: from('ID'),
    Name: () => c.name,
    Names: from('Names'),
    Image: from('Image'),
    Command: from('Command'),
    Project: () => c.labels[Label.project] ?? '',
    Service: () => c.service,
    CreatedAt: from('CreatedAt'),
    RunningFor: from('RunningFor'),
    State: () => c.state,
    Status: () => c.status,
    Health: () => health,
    ExitCode: () => (exit ? Number(exit[1]) : 0),
    Ports: from('Ports'),
    Labels: from('Labels'),
    Label: (name?: unknown) => c.labels[String(name)] ?? '',
    Networks: from('Networks'),
    LocalVolumes: from('LocalVolumes'),
    Mounts: from('Mounts'),
    Size: from('Size'),
  });
}

export async function ps(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const target = await projectTarget(ctx, p);
  const s = composeSession(ctx);
  const all = bool(p, 'all');
  const statuses = [...((p.values['status'] as string[]) ?? [])];
  const filter = (p.values['filter'] as string) ?? '';
  if (filter) {
    const m = /^status=(.+)$/.exec(filter);
    if (!m) throw new StatusError(`invalid filter "${filter}": only status=STATUS is supported`, 1);
    statuses.push(m[1]!);
  }
  let containers = await serviceContainers(s, target, p.args, { oneoff: all });
  await warnWatcherGaps(ctx, s, target.name);
  if (!all && statuses.length === 0) containers = containers.filter((c) => c.state === 'running' || c.state === 'restarting' || c.state === 'paused');
  if (statuses.length > 0) containers = containers.filter((c) => statuses.includes(c.state));
  if (!bool(p, 'orphans') && target.model) containers = containers.filter((c) => target.model!.services[c.service] || target.model!.disabledServices[c.service]);
  containers.sort((a, b) => a.name.localeCompare(b.name));
  if (bool(p, 'services')) {
    const names = [...new Set(containers.map((c) => c.service))];
    ctx.io.stdout.write(names.map((n) => `${n}\n`).join(''));
    return 0;
  }
  if (bool(p, 'quiet')) {
    ctx.io.stdout.write(containers.map((c) => `${c.id}\n`).join(''));
    return 0;
  }
  const source = resolveFormat({ format: (p.values['format'] as string) ?? '', defaultTable: composePsTable });
  const trunc = !bool(p, 'no-trunc');
  ctx.io.stdout.write(renderListing(source, containers.map((c) => composePsRow(c, { trunc })), psHeader));
  return 0;
}

/**
 * A declared project that misses containers the compose watcher cannot bring back (an
 * `environment:`-sourced secret: unrestorable.ts) is said so on stderr, service by service.
 */
async function warnWatcherGaps(ctx: CommandContext, s: ComposeSession, project: string): Promise<void> {
  const d = await s.engine.getDeclaration(project).catch((err: unknown) => {
    if (declarationsUnavailable(err)) return undefined;
    throw err;
  });
  if (d?.state !== 'running') return;
  for (const gap of watcherGaps(modelOf(d), await projectContainers(s.engine, project, { oneoff: false }))) warn(ctx, describeGap(project, gap));
}

interface ProjectRow {
  Name: string;
  Status: string;
  ConfigFiles: string;
  /** The declared state (`running`, `stopped`, `updating`) when `up -d` declared the project, else ''. */
  Declared: string;
}

/** `running(2), exited(1)` */
function projectStatus(containers: ObservedContainer[]): string {
  const counts = new Map<string, number>();
  for (const c of containers) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
  return [...counts.entries()].map(([state, n]) => `${state}(${n})`).join(', ');
}

/**
 * `compose ls`: the projects found by their containers' labels (compose v2's columns), plus the
 * projects declared with `up -d` (Berth's DECLARED column: the state the compose watcher keeps).
 */
export async function ls(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const s = composeSession(ctx);
  const list = (await s.engine.listContainers({ all: true, labels: [Label.project] })).map(observedContainer).filter((c) => !c.oneoff);
  const declared = await s.engine.listDeclarations().catch((err: unknown): Declaration[] => {
    if (declarationsUnavailable(err)) return [];
    throw err;
  });
  const declarations = new Map(declared.map((d) => [d.name, d]));
  const projects = new Map<string, ObservedContainer[]>();
  for (const c of list) {
    const name = c.labels[Label.project]!;
    projects.set(name, [...(projects.get(name) ?? []), c]);
  }
  for (const name of declarations.keys()) if (!projects.has(name)) projects.set(name, []);
  const filters = (p.values['filter'] as string[]) ?? [];
  let rows: ProjectRow[] = [...projects.entries()]
    .map(([name, cs]) => {
      const d = declarations.get(name);
      const files = cs[0]?.labels[Label.configFiles] ?? (d ? (JSON.parse(d.modelJson) as { composeFiles?: string[] }).composeFiles?.join(',') : '') ?? '';
      return { Name: name, Status: projectStatus(cs) || 'declared', ConfigFiles: files, Declared: d?.state ?? '', running: cs.some((c) => c.state === 'running') || d?.state === 'running' };
    })
    .filter((r) => bool(p, 'all') || r.running)
    .map(({ Name, Status, ConfigFiles, Declared }) => ({ Name, Status, ConfigFiles, Declared }))
    .sort((a, b) => a.Name.localeCompare(b.Name));
  for (const f of filters) {
    const [key, value] = f.split(/=(.*)/s) as [string, string];
    if (key !== 'name') throw new StatusError(`invalid filter '${key}'`, 1);
    rows = rows.filter((r) => r.Name.includes(value));
  }
  if (bool(p, 'quiet')) {
    ctx.io.stdout.write(rows.map((r) => `${r.Name}\n`).join(''));
    return 0;
  }
  const format = (p.values['format'] as string) || 'table';
  if (format === 'json') {
    ctx.io.stdout.write(`${JSON.stringify(rows)}\n`);
    return 0;
  }
  if (format !== 'table') throw new StatusError(`format value "${format}" could not be parsed: use table or json`, 1);
  const lines = ['NAME\tSTATUS\tCONFIG FILES\tDECLARED', ...rows.map((r) => `${r.Name}\t${r.Status}\t${r.ConfigFiles}\t${r.Declared || '-'}`)];
  ctx.io.stdout.write(tabwrite(`${lines.join('\n')}\n`));
  return 0;
}
