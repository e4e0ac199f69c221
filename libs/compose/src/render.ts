import type { Project, ServiceConfig } from './model.js';
import { setOwn } from './parse-yaml.js';
import { toYaml } from './yaml-emitter.js';

/**
 * The project as `docker compose config` prints it: YAML (go-yaml, indent 2) or JSON (Go's
 * `json.MarshalIndent`), `$` written `$$` so the output is itself a valid Compose file, secret
 * contents never printed, and config contents printed only when written inline.
 */

type Dict = Record<string, unknown>;

function printableResources(resources: Dict, kind: 'secrets' | 'configs'): Dict {
  const out: Dict = {};
  for (const [name, r] of Object.entries(resources)) {
    const copy = { ...(r as Dict) };
    if (kind === 'secrets' || copy.environment !== undefined) delete copy.content;
    setOwn(out, name, copy);
  }
  return out;
}

/** The printable document: name, services, then the resource maps that are not empty, then `x-*`. */
export function printableProject(project: Project): Dict {
  const doc: Dict = { name: project.name, services: project.services };
  if (Object.keys(project.networks).length > 0) doc.networks = project.networks;
  if (Object.keys(project.volumes).length > 0) doc.volumes = project.volumes;
  if (Object.keys(project.secrets).length > 0) doc.secrets = printableResources(project.secrets, 'secrets');
  if (Object.keys(project.configs).length > 0) doc.configs = printableResources(project.configs, 'configs');
  if (Object.keys(project.models).length > 0) doc.models = project.models;
  for (const key of Object.keys(project.extensions).sort()) setOwn(doc, key, project.extensions[key]);
  return doc;
}

/** `$` → `$$`, as Compose escapes its interpolated output. */
export function escapeDollars(text: string): string {
  return text.replace(/\$/g, '$$$$');
}

export interface RenderOptions {
  /** false: the model was not interpolated, so `$` is already as the user wrote it. */
  escapeDollars?: boolean;
}

export function renderProjectYaml(project: Project, options: RenderOptions = {}): string {
  const text = toYaml(printableProject(project));
  return options.escapeDollars === false ? text : escapeDollars(text);
}

/** A service as Go's encoding/json writes compose-go's ServiceConfig (command/entrypoint always present). */
export function serviceJsonValue(service: ServiceConfig): Dict {
  const out: Dict = {};
  const ordered = Object.entries(service);
  let placedCommand = false;
  let placedEntrypoint = false;
  for (const [k, v] of ordered) {
    if (!placedCommand && commandAfter(k)) {
      out.command = service.command ?? null;
      placedCommand = true;
    }
    if (!placedEntrypoint && entrypointAfter(k)) {
      out.entrypoint = service.entrypoint ?? null;
      placedEntrypoint = true;
    }
    if (k === 'command' || k === 'entrypoint') continue;
    setOwn(out, k, v);
  }
  if (!placedCommand) out.command = service.command ?? null;
  if (!placedEntrypoint) out.entrypoint = service.entrypoint ?? null;
  return out;
}

const beforeCommand = new Set([
  'profiles', 'annotations', 'attach', 'build', 'develop', 'blkio_config', 'cap_add', 'cap_drop', 'cgroup_parent', 'cgroup',
  'cpu_count', 'cpu_percent', 'cpu_period', 'cpu_quota', 'cpu_rt_period', 'cpu_rt_runtime', 'cpus', 'cpuset', 'cpu_shares',
]);
const beforeEntrypoint = new Set([
  ...beforeCommand, 'command', 'configs', 'container_name', 'credential_spec', 'depends_on', 'deploy', 'device_cgroup_rules',
  'devices', 'dns', 'dns_opt', 'dns_search', 'dockerfile', 'domainname',
]);
const commandAfter = (k: string) => !beforeCommand.has(k);
const entrypointAfter = (k: string) => !beforeEntrypoint.has(k);

/** Go's json.Marshal escapes these inside strings. */
function goJson(value: unknown): string {
  return JSON.stringify(value, null, 2)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function renderProjectJson(project: Project, options: RenderOptions = {}): string {
  const doc = printableProject(project);
  const services: Dict = {};
  for (const [name, s] of Object.entries(project.services)) setOwn(services, name, serviceJsonValue(s));
  doc.services = services;
  const sorted: Dict = {};
  for (const key of Object.keys(doc).sort()) setOwn(sorted, key, doc[key]);
  const text = goJson(sorted);
  return options.escapeDollars === false ? text : escapeDollars(text);
}

export { goJson };
