import type { Project, ServiceConfig, ServiceDependency } from '@berth/compose';

/**
 * The labels Docker Compose v2 puts on what it creates, with the same keys and value formats, so
 * that `docker compose ps` against the Docker-compatible API (and `berth compose ps`) recognise a
 * project's containers, networks and volumes whoever created them. They are the controller's only
 * memory of what it made: `up` compares the desired state with these labels, `down` removes what
 * they name.
 */
export const Label = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  containerNumber: 'com.docker.compose.container-number',
  configHash: 'com.docker.compose.config-hash',
  oneoff: 'com.docker.compose.oneoff',
  slug: 'com.docker.compose.slug',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  environmentFile: 'com.docker.compose.project.environment_file',
  dependsOn: 'com.docker.compose.depends_on',
  image: 'com.docker.compose.image',
  version: 'com.docker.compose.version',
  replace: 'com.docker.compose.replace',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
} as const;

/** The Compose version Berth's labels claim (the v2 release whose label set this follows). */
export const composeVersion = '2.29.0';

/** `label=` filter values selecting one project's objects. */
export function projectFilter(project: string): string {
  return `${Label.project}=${project}`;
}

/**
 * `com.docker.compose.depends_on`: `service:condition:restart` per dependency, comma-separated, in
 * name order (compose v2's format; `docker compose` reads it to order `down`).
 */
export function dependsOnLabel(dependsOn: Record<string, ServiceDependency> | undefined): string {
  return Object.keys(dependsOn ?? {})
    .sort()
    .map((name) => `${name}:${dependsOn![name]!.condition}:${dependsOn![name]!.restart === true}`)
    .join(',');
}

/** Parses `com.docker.compose.depends_on` back into service names (unknown parts are ignored). */
export function parseDependsOnLabel(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((part) => part.split(':')[0]!.trim())
    .filter(Boolean);
}

/** The labels of a service's container (the service's own labels first, compose's over them). */
export function containerLabels(
  project: Project,
  serviceName: string,
  service: ServiceConfig,
  o: { number: number; configHash: string; imageId?: string; oneoff?: boolean; slug?: string },
): Record<string, string> {
  const labels: Record<string, string> = {
    ...(service.labels ?? {}),
    [Label.project]: project.name,
    [Label.service]: serviceName,
    [Label.containerNumber]: String(o.number),
    [Label.configHash]: o.configHash,
    [Label.oneoff]: o.oneoff ? 'True' : 'False',
    [Label.workingDir]: project.workingDir,
    [Label.configFiles]: project.composeFiles.join(','),
    [Label.dependsOn]: dependsOnLabel(service.depends_on),
    [Label.version]: composeVersion,
  };
  if (o.imageId) labels[Label.image] = o.imageId;
  if (o.slug) labels[Label.slug] = o.slug;
  return labels;
}

/** The labels of a project network (`key` is its name in the file). */
export function networkLabels(projectName: string, key: string, own: Record<string, string> | undefined): Record<string, string> {
  return { ...(own ?? {}), [Label.network]: key, [Label.project]: projectName, [Label.version]: composeVersion };
}

/** The labels of a project volume. */
export function volumeLabels(projectName: string, key: string, own: Record<string, string> | undefined): Record<string, string> {
  return { ...(own ?? {}), [Label.volume]: key, [Label.project]: projectName, [Label.version]: composeVersion };
}
