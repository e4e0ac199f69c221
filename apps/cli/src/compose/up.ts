import { declaredModel, modelOf, runServices, up as upProject, withDeclaration, type BuildSupport, type PullPolicy, type RecreatePolicy, type UpOptions } from '@berth/compose-controller';
import { StatusError } from '../cli-errors.js';
import { allRegistryAuths, contextStream } from '../commands/build.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, bool, list } from '../flag-values.js';
import { attachProject } from './attached.js';
import { serviceBuildLine } from './progress-printer.js';
import { composeSession, loadModel } from './session.js';

/** `compose up`, `create` and `scale`. */


/** `--scale web=3` values. */
export function parseScale(words: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of words) {
    const m = /^([^=]+)=(\d+)$/.exec(w);
    if (!m) throw new StatusError(`invalid --scale value "${w}": expected SERVICE=NUM`, 1);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** What lets the controller send local build contexts: the same packing as `berth build`. */
export function buildSupport(ctx: CommandContext, options: { quiet?: boolean } = {}): BuildSupport {
  return {
    context: (dir, dockerfile) => contextStream(dir, dockerfile),
    registryAuths: () => allRegistryAuths(ctx),
    onLine: options.quiet ? undefined : (service, line) => ctx.io.stderr.write(`${serviceBuildLine(service, line)}\n`),
  };
}

function recreatePolicy(p: ParsedArgs): RecreatePolicy {
  if (bool(p, 'force-recreate') && bool(p, 'no-recreate')) throw new StatusError('--force-recreate and --no-recreate are incompatible', 1);
  return bool(p, 'force-recreate') ? 'force' : bool(p, 'no-recreate') ? 'never' : 'diverged';
}

/** The options `up` and `create` share. */
function createOptions(ctx: CommandContext, p: ParsedArgs): UpOptions {
  if (bool(p, 'build') && bool(p, 'no-build')) throw new StatusError('--build and --no-build are incompatible', 1);
  const pull = str(p, 'pull');
  if (pull && pull !== 'policy' && !['always', 'missing', 'never', 'build'].includes(pull)) {
    throw new StatusError(`invalid --pull option "${pull}": expected always, missing, never or build`, 1);
  }
  return {
    services: p.args,
    recreate: recreatePolicy(p),
    scale: parseScale(list(p, 'scale')),
    removeOrphans: bool(p, 'remove-orphans'),
    build: bool(p, 'build') ? 'always' : bool(p, 'no-build') ? 'never' : undefined,
    pull: pull && pull !== 'policy' ? (pull as PullPolicy) : undefined,
    quietPull: bool(p, 'quiet-pull'),
    builder: buildSupport(ctx),
  };
}

export async function create(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const options = createOptions(ctx, p);
  const project = await loadModel(ctx, p, p.args);
  await upProject(composeSession(ctx), project, { ...options, noStart: true });
  return 0;
}

export async function up(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const wait = bool(p, 'wait');
  const detach = bool(p, 'detach') || wait;
  const exitCodeFrom = str(p, 'exit-code-from') || undefined;
  const abortOnExit = bool(p, 'abort-on-container-exit');
  const abortOnFailure = bool(p, 'abort-on-container-failure');
  if (detach && (abortOnExit || abortOnFailure || exitCodeFrom)) {
    throw new StatusError(`--${abortOnExit ? 'abort-on-container-exit' : abortOnFailure ? 'abort-on-container-failure' : 'exit-code-from'} and --${wait ? 'wait' : 'detach'} are incompatible`, 1);
  }
  if (abortOnExit && abortOnFailure) throw new StatusError('--abort-on-container-exit and --abort-on-container-failure are incompatible', 1);
  const options = createOptions(ctx, p);
  const project = await loadModel(ctx, p, p.args);
  if (exitCodeFrom && !project.services[exitCodeFrom]) throw new StatusError(`no such service: ${exitCodeFrom}`, 1);
  const s = composeSession(ctx);
  const since = new Date().toISOString();
  const waitTimeout = p.values['wait-timeout'] as number;
  const run = () => upProject(s, project, {
    ...options,
    noDeps: bool(p, 'no-deps'),
    noStart: bool(p, 'no-start'),
    renewAnonVolumes: bool(p, 'renew-anon-volumes'),
    timeout: p.changed.has('timeout') ? (p.values['timeout'] as number) : undefined,
    wait,
    waitTimeoutMs: waitTimeout > 0 ? waitTimeout * 1000 : undefined,
  });
  if (!detach || bool(p, 'no-start')) {
    const result = await run();
    return bool(p, 'no-start') ? 0 : attach(ctx, p, s, project, result, { abortOnExit, abortOnFailure, exitCodeFrom, since });
  }
  // `up -d` declares the project: the compose watcher keeps it as declared from now on. `up -d web`
  // adds web (and its dependencies) to what was declared before.
  const full = p.args.length > 0 ? await loadModel(ctx, p) : project;
  const model = (previous?: Parameters<typeof modelOf>[0]) => {
    if (p.args.length === 0) return declaredModel(full, { scale: options.scale });
    const only = new Set([...runServices(project, p.args, bool(p, 'no-deps')), ...(previous ? Object.keys(modelOf(previous).services) : [])]);
    return declaredModel(full, { scale: options.scale, only: [...only] });
  };
  await withDeclaration(s, project, model, run);
  return 0;
}

function attach(
  ctx: CommandContext,
  p: ParsedArgs,
  s: ReturnType<typeof composeSession>,
  project: Awaited<ReturnType<typeof loadModel>>,
  result: Awaited<ReturnType<typeof upProject>>,
  o: { abortOnExit: boolean; abortOnFailure: boolean; exitCodeFrom?: string; since: string },
): Promise<number> {
  const { abortOnExit, abortOnFailure, exitCodeFrom, since } = o;
  const all = [...result.containers.values()].flat();
  const attachList = list(p, 'attach');
  const noAttach = new Set(list(p, 'no-attach'));
  const targeted = new Set(attachList.length > 0 ? attachList : p.args.length > 0 ? p.args : Object.keys(project.services));
  const attached = all.filter((c) => targeted.has(c.service) && !noAttach.has(c.service) && project.services[c.service]?.attach !== false);
  return attachProject(ctx, s, {
    project: project.name,
    attached,
    all,
    abortOnExit,
    abortOnFailure,
    exitCodeFrom,
    color: ctx.io.stdout.isTTY === true && !bool(p, 'no-color'),
    prefix: !bool(p, 'no-log-prefix'),
    timestamps: bool(p, 'timestamps'),
    timeout: p.changed.has('timeout') ? (p.values['timeout'] as number) : undefined,
    since,
  });
}

/** `compose scale web=3 db=1`: `up --no-recreate --scale …` for those services only. */
export async function scale(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const scales = parseScale(p.args);
  const project = await loadModel(ctx, p, Object.keys(scales));
  const s = composeSession(ctx);
  const run = () =>
    upProject(s, project, {
      services: Object.keys(scales),
      scale: scales,
      noDeps: bool(p, 'no-deps'),
      recreate: 'never',
      builder: buildSupport(ctx),
    });
  const declared = await s.engine.getDeclaration(project.name).catch(() => undefined); // no declarations: a plain scale
  if (!declared) {
    await run();
    return 0;
  }
  // A declared project keeps its new scale.
  const model = modelOf(declared);
  for (const [name, n] of Object.entries(scales)) {
    const svc = model.services[name];
    if (svc) model.services[name] = { ...svc, scale: undefined, deploy: { ...(svc.deploy ?? {}), replicas: n } };
  }
  await withDeclaration(s, project, () => declaredModel(model), run);
  return 0;
}
