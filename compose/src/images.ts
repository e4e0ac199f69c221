import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { imageName, parseDuration, type Project, type ServiceConfig } from '@berth/compose';
import { FailedPreconditionError, InvalidArgumentError, messageOf } from '@berth/errors';
import type { BuildOptions, BuildRegistryAuth } from '@berth/proto';
import { reporter } from './progress.js';
import type { ComposeSession } from './session.js';

/**
 * Making sure every service has its image before containers are created (compose v2's
 * `ensureImagesExists`): pull what `pull_policy` (or `--pull`) asks for, build what has `build:`
 * and is missing (or everything with `--build`), several builds at once, and return the image id
 * each service will run, which goes into the `com.docker.compose.image` label.
 */

/** What the controller needs from its caller to send build contexts (the CLI tars local directories). */
export interface BuildSupport {
  /** The context directory as a tar stream, honouring `.dockerignore` (`dockerfile` relative to it). */
  context(dir: string, dockerfile?: string): AsyncIterable<Buffer>;
  /** The client's registry credentials, sent with every build. */
  registryAuths(): Promise<BuildRegistryAuth[]>;
  /** One progress line of a service's build. */
  onLine?(service: string, line: string): void;
}

export type PullPolicy = 'always' | 'missing' | 'never' | 'build' | 'daily' | 'weekly' | `every_${string}`;

export interface ImageOptions {
  /** `--build` (always) or `--no-build` (never); default: build what is missing. */
  build?: 'always' | 'never';
  /** `--pull`: overrides every service's pull_policy. */
  pull?: PullPolicy;
  quietPull?: boolean;
  builder?: BuildSupport;
}

function policyOf(service: ServiceConfig, options: ImageOptions): PullPolicy {
  const raw = options.pull ?? service.pull_policy ?? 'missing';
  return (raw === 'if_not_present' ? 'missing' : raw) as PullPolicy;
}

function refreshAfterMs(policy: PullPolicy): number | undefined {
  if (policy === 'daily') return 24 * 3600_000;
  if (policy === 'weekly') return 7 * 24 * 3600_000;
  if (policy.startsWith('every_')) return parseDuration(policy.slice('every_'.length)) / 1e6;
  return undefined;
}

/** The build request for a service (tags: its image name and `build.tags`). */
export async function buildRequest(project: Project, name: string, service: ServiceConfig, auths: BuildRegistryAuth[]): Promise<{ options: BuildOptions; context: string; dockerfile?: string }> {
  const build = service.build!;
  if (/^(https?:\/\/|git@|git:\/\/|github\.com\/|docker-image:\/\/)/.test(build.context)) {
    throw new InvalidArgumentError(`service "${name}": remote build context "${build.context}" is not supported by berth compose yet: clone it and use a directory`);
  }
  const options: BuildOptions = {
    dockerfile: '',
    dockerfileContent: build.dockerfile_inline ?? '',
    dockerfileName: '',
    buildArgs: Object.entries(build.args ?? {})
      .filter((e): e is [string, string] => e[1] !== null)
      .map(([key, value]) => ({ key, value })),
    target: build.target ?? '',
    tags: [imageName(project, name, service), ...(build.tags ?? [])],
    noCache: build.no_cache ?? false,
    labels: Object.entries(build.labels ?? {}).map(([key, value]) => ({ key, value })),
    push: false,
    pull: build.pull ?? false,
    registryAuths: auths,
    outputType: '',
    squash: false,
    noCacheFilter: build.no_cache_filter ?? [],
    cacheTo: build.cache_to ?? [],
    cacheFrom: build.cache_from ?? [],
    // A tar context each time (BuildSupport.context): no file sync key.
    contextKey: '',
    // build.network, extra_hosts, platforms, secrets and additional_contexts are not passed on yet.
    network: '',
    extraHosts: [],
    platform: '',
    secrets: [],
    buildContexts: [],
  };
  let dockerfile: string | undefined;
  if (!build.dockerfile_inline) {
    const file = build.dockerfile ?? 'Dockerfile';
    const abs = isAbsolute(file) ? file : resolve(build.context, file);
    const rel = relative(build.context, abs);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      options.dockerfileContent = await readFile(abs, 'utf8').catch(() => {
        throw new InvalidArgumentError(`service "${name}": cannot read Dockerfile "${abs}"`);
      });
      options.dockerfileName = file.split('/').at(-1)!;
    } else {
      dockerfile = rel.split('\\').join('/');
      options.dockerfile = dockerfile;
    }
  }
  return { options, context: build.context, dockerfile };
}

/** Builds the services' images, all at once. @returns image id by service. */
export async function buildServices(s: ComposeSession, project: Project, services: string[], builder: BuildSupport): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const auths = await builder.registryAuths();
  await Promise.all(
    services.map(async (name) => {
      const service = project.services[name]!;
      const report = reporter(s.progress, 'Service', name);
      report.working('Building');
      const { options, context, dockerfile } = await buildRequest(project, name, service, auths);
      try {
        const id = await s.engine.buildImage(options, builder.context(context, dockerfile), (line) => builder.onLine?.(name, line));
        ids.set(name, id);
      } catch (err) {
        report.failed('Error', messageOf(err));
        throw new FailedPreconditionError(`failed to build service "${name}": ${messageOf(err)}`, { cause: err });
      }
      report.done('Built');
    }),
  );
  return ids;
}

/** Pulls the services' images (one pull per distinct image). Failures of services that can build are not fatal. */
export async function pullServices(s: ComposeSession, project: Project, services: string[], options: { quiet?: boolean; ignoreBuildable?: boolean } = {}): Promise<void> {
  const pulls = new Map<string, Promise<void>>();
  await Promise.all(
    services.map(async (name) => {
      const service = project.services[name]!;
      const ref = imageName(project, name, service);
      const report = reporter(s.progress, 'Service', name);
      let pull = pulls.get(ref);
      if (!pull) {
        pull = s.engine.pullImage(ref).then(() => undefined);
        pulls.set(ref, pull);
      }
      report.working('Pulling');
      try {
        await pull;
      } catch (err) {
        if (service.build && options.ignoreBuildable !== false) {
          report.done('Skipped', `no image to pull, it will be built`);
          return;
        }
        report.failed('Error', messageOf(err));
        throw new FailedPreconditionError(`failed to pull image "${ref}" for service "${name}": ${messageOf(err)}`, { cause: err });
      }
      report.done('Pulled');
    }),
  );
}

/**
 * Pulls and builds what the services need, then returns the image id of each service (the image
 * a new container would run).
 */
export async function ensureImages(s: ComposeSession, project: Project, services: string[], options: ImageOptions): Promise<Map<string, string>> {
  const present = new Map<string, Awaited<ReturnType<typeof s.engine.inspectImage>>>();
  // One inspect per distinct image (thirty services of one image ask once).
  const byRef = new Map<string, ReturnType<typeof s.engine.inspectImage>>();
  const inspect = async (name: string, fresh = false) => {
    const ref = imageName(project, name, project.services[name]!);
    if (fresh || !byRef.has(ref)) byRef.set(ref, s.engine.inspectImage(ref));
    present.set(name, await byRef.get(ref)!);
  };
  await Promise.all(services.map((n) => inspect(n)));
  const toPull: string[] = [];
  const toBuild: string[] = [];
  for (const name of services) {
    const service = project.services[name]!;
    const policy = policyOf(service, options);
    const image = present.get(name);
    if (service.build) {
      if (options.build === 'always' || policy === 'build') toBuild.push(name);
      else if (!image && options.build !== 'never') {
        if (policy === 'always' && service.image) toPull.push(name);
        toBuild.push(name);
      } else if (policy === 'always' && service.image) toPull.push(name);
      continue;
    }
    if (policy === 'build') throw new InvalidArgumentError(`service "${name}": pull_policy "build" needs a build section`);
    if (policy === 'never') {
      if (!image) throw new FailedPreconditionError(`service "${name}": image "${imageName(project, name, service)}" is not present and pull_policy is "never"`);
      continue;
    }
    if (policy === 'always' || !image) {
      toPull.push(name);
      continue;
    }
    const refresh = refreshAfterMs(policy);
    if (refresh !== undefined) {
      const tagged = Date.parse(image.Metadata?.LastTagTime ?? image.Created ?? '');
      if (!(tagged > 0) || Date.now() - tagged > refresh) toPull.push(name);
    }
  }
  if (toPull.length > 0) await pullServices(s, project, toPull, { quiet: options.quietPull });
  const ids = new Map<string, string>();
  if (toBuild.length > 0) {
    if (!options.builder) throw new FailedPreconditionError(`service "${toBuild[0]}" needs to be built, and this command cannot send build contexts`);
    // A pulled image makes its build unnecessary unless the build was asked for.
    const stillMissing: string[] = [];
    for (const name of toBuild) {
      const service = project.services[name]!;
      if (options.build !== 'always' && policyOf(service, options) !== 'build' && toPull.includes(name)) {
        await inspect(name, true);
        if (present.get(name)) continue;
      }
      stillMissing.push(name);
    }
    for (const [name, id] of await buildServices(s, project, stillMissing, options.builder)) ids.set(name, id);
  }
  // Pulls and builds changed what names point at: ask again (once per image).
  if (toPull.length > 0 || toBuild.length > 0) byRef.clear();
  await Promise.all(
    services
      .filter((n) => !ids.has(n))
      .map(async (name) => {
        const ref = imageName(project, name, project.services[name]!);
        await inspect(name);
        const image = present.get(name);
        if (!image) throw new FailedPreconditionError(`service "${name}": image "${ref}" is not present${project.services[name]!.build ? ' (build it with --build)' : ''}`);
        ids.set(name, image.Id);
      }),
  );
  return ids;
}
