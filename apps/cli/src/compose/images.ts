import { imageName, type Project } from '@berth/compose';
import { buildServices, pullServices, runServices, type ComposeSession } from '@berth/compose-controller';
import { messageOf } from '@berth/errors';
import { StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { bool, list } from '../flag-values.js';
import { familiarName, truncateId } from '../row-contexts.js';
import { tabwrite } from '../tabwriter.js';
import { humanSize } from '../units.js';
import { composeSession, loadModel, projectTarget } from './session.js';
import { serviceContainers } from './targets.js';
import { buildSupport } from './up.js';

/** `compose build`, `pull`, `push` and `images`. */


function selected(project: Project, p: ParsedArgs, withDeps: boolean): string[] {
  return runServices(project, p.args, !withDeps);
}

export async function build(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const project = await loadModel(ctx, p, p.args);
  const names = selected(project, p, bool(p, 'with-dependencies') || p.args.length === 0).filter((n) => project.services[n]!.build);
  for (const name of names) {
    const svc = project.services[name]!;
    const args = { ...(svc.build!.args ?? {}) };
    for (const a of list(p, 'build-arg')) {
      const eq = a.indexOf('=');
      if (eq < 0) args[a] = ctx.io.env[a] ?? null;
      else args[a.slice(0, eq)] = a.slice(eq + 1);
    }
    svc.build = { ...svc.build!, args, ...(bool(p, 'no-cache') ? { no_cache: true } : {}), ...(bool(p, 'pull') ? { pull: true } : {}) };
  }
  const quiet = bool(p, 'quiet');
  const s = composeSession(ctx, { quiet });
  await buildServices(s, project, names, buildSupport(ctx, { quiet }));
  if (bool(p, 'push')) await pushImages(s, project, names, { quiet });
  return 0;
}

export async function pull(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const project = await loadModel(ctx, p, p.args);
  const policy = (p.values['policy'] as string) || 'always';
  if (policy !== 'always' && policy !== 'missing') throw new StatusError(`invalid pull policy "${policy}": expected missing or always`, 1);
  const quiet = bool(p, 'quiet');
  const s = composeSession(ctx, { quiet });
  let names = selected(project, p, bool(p, 'include-deps') || p.args.length === 0);
  // Services that only build their image have nothing to pull.
  names = names.filter((n) => !(project.services[n]!.build && (bool(p, 'ignore-buildable') || !project.services[n]!.image)));
  if (policy === 'missing') {
    const present = await Promise.all(names.map((n) => s.engine.inspectImage(imageName(project, n, project.services[n]!))));
    names = names.filter((_, i) => !present[i]);
  }
  if (bool(p, 'ignore-pull-failures')) {
    for (const name of names) {
      try {
        await pullServices(s, project, [name]);
      } catch (err) {
        s.warn(messageOf(err));
      }
    }
    return 0;
  }
  await pullServices(s, project, names, { ignoreBuildable: false });
  return 0;
}

async function pushImages(s: ComposeSession, project: Project, names: string[], options: { quiet?: boolean; ignoreFailures?: boolean }): Promise<void> {
  for (const name of names) {
    const ref = imageName(project, name, project.services[name]!);
    s.progress({ kind: 'Service', name, status: 'Pushing', done: false });
    try {
      await s.engine.pushImage(ref);
      s.progress({ kind: 'Service', name, status: 'Pushed', done: true });
    } catch (err) {
      s.progress({ kind: 'Service', name, status: 'Error', done: true, error: true, detail: messageOf(err) });
      if (!options.ignoreFailures) throw new StatusError(`failed to push ${ref}: ${messageOf(err)}`, 1);
    }
  }
}

export async function push(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const project = await loadModel(ctx, p, p.args);
  const names = selected(project, p, bool(p, 'include-deps') || p.args.length === 0).filter((n) => project.services[n]!.build || project.services[n]!.image);
  const quiet = bool(p, 'quiet');
  await pushImages(composeSession(ctx, { quiet }), project, names, { quiet, ignoreFailures: bool(p, 'ignore-push-failures') });
  return 0;
}

/** `compose images`: the image of each created container. */
export async function images(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const target = await projectTarget(ctx, p);
  const s = composeSession(ctx);
  const containers = (await serviceContainers(s, target, p.args)).sort((a, b) => a.name.localeCompare(b.name));
  const rows = await Promise.all(
    containers.map(async (c) => {
      const image = await s.engine.inspectImage(c.summary.imageId || c.summary.image);
      const ref = familiarName(c.summary.image);
      const colon = ref.lastIndexOf(':');
      const tagged = colon > ref.lastIndexOf('/');
      return {
        ID: image?.Id ?? c.summary.imageId,
        ContainerName: c.name,
        Repository: tagged ? ref.slice(0, colon) : ref,
        Tag: tagged ? ref.slice(colon + 1) : 'latest',
        Size: image?.Size ?? 0,
      };
    }),
  );
  if (bool(p, 'quiet')) {
    ctx.io.stdout.write([...new Set(rows.map((r) => r.ID))].map((id) => `${id}\n`).join(''));
    return 0;
  }
  const format = (p.values['format'] as string) || 'table';
  if (format === 'json') {
    ctx.io.stdout.write(`${JSON.stringify(rows)}\n`);
    return 0;
  }
  const lines = ['CONTAINER\tREPOSITORY\tTAG\tIMAGE ID\tSIZE', ...rows.map((r) => `${r.ContainerName}\t${r.Repository}\t${r.Tag}\t${truncateId(r.ID)}\t${humanSize(r.Size)}`)];
  ctx.io.stdout.write(tabwrite(`${lines.join('\n')}\n`));
  return 0;
}
