import { writeFileSync } from 'node:fs';
import {
  dependencyOrder,
  imageName,
  loadProject,
  printableProject,
  type Project,
  renderProjectJson,
  renderProjectYaml,
  serviceConfigHash,
  toYamlDocument,
} from '@berth/compose';
import { StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, bool, list } from '../flag-values.js';

/**
 * `berth compose config`: loads the project (no platform needed) and prints it as Docker Compose
 * does: the normalized model in YAML (or JSON), or only the service, volume, profile or image
 * names, or the services' config hashes.
 */


async function readStdin(ctx: CommandContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.io.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Loads the project named by the compose options of the command line. */
export async function projectFromFlags(ctx: CommandContext, p: ParsedArgs, extra: { services?: string[]; interpolate?: boolean } = {}): Promise<Project> {
  const files = list(p, 'file');
  const project = loadProject({
    cwd: process.cwd(),
    environment: ctx.io.env,
    configFiles: files,
    projectName: str(p, 'project-name') || undefined,
    projectDirectory: str(p, 'project-directory') || undefined,
    envFiles: list(p, 'env-file'),
    profiles: list(p, 'profile'),
    services: extra.services,
    interpolate: extra.interpolate,
    stdin: files.includes('-') ? await readStdin(ctx) : undefined,
  });
  for (const warning of project.warnings) ctx.io.stderr.write(`WARN[0000] ${warning}\n`);
  return project;
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortDeep((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

export async function config(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const out = (text: string) => ctx.io.stdout.write(text);
  const format = str(p, 'format') || 'yaml';
  if (format !== 'yaml' && format !== 'json') throw new StatusError(`unsupported format "${format}": use yaml or json`, 1);
  const interpolate = !bool(p, 'no-interpolate');
  const project = await projectFromFlags(ctx, p, { services: p.args.length > 0 ? p.args : undefined, interpolate });
  if (bool(p, 'services')) {
    for (const name of dependencyOrder(project)) out(`${name}\n`);
    return 0;
  }
  if (bool(p, 'volumes')) {
    for (const name of Object.keys(project.volumes)) out(`${name}\n`);
    return 0;
  }
  const hash = str(p, 'hash');
  if (hash) {
    const names = hash === '*' ? Object.keys(project.services) : hash.split(',');
    for (const name of [...names].sort()) {
      const service = project.services[name];
      if (!service) throw new StatusError(`no such service: ${name}`, 1);
      out(`${name} ${serviceConfigHash(service)}\n`);
    }
    return 0;
  }
  if (bool(p, 'profiles')) {
    const profiles = new Set<string>();
    for (const s of [...Object.values(project.services), ...Object.values(project.disabledServices)]) for (const prof of s.profiles ?? []) profiles.add(prof);
    for (const prof of [...profiles].sort()) out(`${prof}\n`);
    return 0;
  }
  if (bool(p, 'images')) {
    for (const [name, s] of Object.entries(project.services)) out(`${imageName(project, name, s)}\n`);
    return 0;
  }
  let content: string;
  if (!interpolate) {
    // As Compose: the model as a plain mapping (keys sorted), `$` left as written.
    const doc = sortDeep(printableProject(project));
    content = format === 'json' ? JSON.stringify(doc, null, 2) : toYamlDocument(doc);
  } else {
    content = format === 'json' ? renderProjectJson(project) : renderProjectYaml(project);
  }
  if (bool(p, 'quiet')) return 0;
  const output = str(p, 'output');
  if (output) {
    if (content.length > 0) writeFileSync(output, content, { mode: 0o666 });
    return 0;
  }
  out(content);
  return 0;
}
