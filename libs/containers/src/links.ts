import { ConflictError, InvalidArgumentError } from '@berth/errors';
import type { ContainerLookup } from './host-options.js';
import type { ContainerNetworking } from './networking.js';
import type { ContainerRecord } from './types.js';

/**
 * Docker's legacy links (`--link NAME[:ALIAS]`): at create each target must exist and the links are
 * recorded as Docker records them (`/db:/web/alias`); at every start each target must run, and the
 * container gets, as Docker's daemon gives it (daemon/links.go, container_operations.go):
 *   - an /etc/hosts line `<target ip>\t<alias> <target hostname> [<target name>]`;
 *   - `<ALIAS>_NAME`, `<ALIAS>_PORT[_<port>_<proto>[_ADDR|_PORT|_PROTO]]` and `<ALIAS>_ENV_<var>` variables.
 * The target's address is the one it has on a network both share (the default bridge, usually).
 */

/** docker's opts.ParseLink: `name[:alias]`; a leading `/` is dropped. */
export function parseLink(link: string): { name: string; alias: string } {
  if (link === '') throw new InvalidArgumentError('empty string specified for links');
  const parts = link.split(':');
  if (parts.length > 2) throw new InvalidArgumentError(`bad format for links: ${link}`);
  if (parts.length === 1) return { name: link.replace(/^\//, ''), alias: link.replace(/^\//, '') };
  const alias = parts[1]!.split('/').pop()!;
  return { name: parts[0]!.replace(/^\//, ''), alias };
}

/**
 * Whether `--network MODE` names a user-defined network, where `--link` is not a legacy link but a
 * per-container DNS alias of that network (Docker's EndpointSettings.Links, @berth/network).
 */
export function onUserDefinedNetwork(networkMode: string | undefined): boolean {
  return !!networkMode && !['default', 'bridge', 'host', 'none'].includes(networkMode) && !networkMode.startsWith('container:');
}

/** Checks the links of a new container and returns them as Docker's HostConfig.Links has them. */
export function recordLinks(links: string[], options: { name: string; networkMode?: string; lookup: ContainerLookup }): string[] {
  if (links.length === 0) return [];
  // On a user-defined network they are recorded as given; the network resolves them (targets may not exist yet).
  if (onUserDefinedNetwork(options.networkMode)) return links;
  if (options.networkMode === 'host') {
    throw new InvalidArgumentError("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  }
  return links.map((link) => {
    const { name, alias } = parseLink(link);
    const target = options.lookup(name);
    if (!target) throw new InvalidArgumentError(`could not get container for ${name}: No such container: ${name}`);
    return `${target.Name}:${options.name}/${alias}`;
  });
}

export interface LinkSettings {
  /** Lines to add to /etc/hosts. */
  hosts: string;
  /** Variables for the process (the container's own Env wins over them). */
  env: string[];
}

/** What the recorded links give a starting container (see the file comment). */
export function linkSettings(
  rec: ContainerRecord,
  deps: { lookup: ContainerLookup; network?: Pick<ContainerNetworking, 'inspect'> },
): LinkSettings {
  const out: LinkSettings = { hosts: '', env: [] };
  if (onUserDefinedNetwork(rec.HostConfig.NetworkMode)) return out;
  const own = networksOf(deps.network, rec.Id);
  for (const link of rec.HostConfig.Links ?? []) {
    const [targetName, linkName] = link.split(':') as [string, string];
    const alias = linkName.split('/').pop()!;
    const target = deps.lookup(targetName);
    if (!target || !target.State.Running || target.State.Restarting) {
      throw new ConflictError(`Cannot link to a non running container: ${targetName} AS ${linkName}`);
    }
    const theirs = networksOf(deps.network, target.Id);
    const shared = Object.keys(own).find((n) => theirs[n]) ?? Object.keys(theirs)[0];
    const ip = shared ? theirs[shared] : undefined;
    if (!ip) throw new ConflictError(`Cannot link to ${targetName}, as it does not belong to the default network`);
    const names = [alias, target.Config.Hostname, ...(alias !== targetName.slice(1) ? [targetName.slice(1)] : [])];
    out.hosts += `${ip}\t${names.join(' ')}\n`;
    out.env.push(...linkEnv(alias, linkName, ip, target));
  }
  return out;
}

function networksOf(network: Pick<ContainerNetworking, 'inspect'> | undefined, id: string): Record<string, string> {
  const settings = network?.inspect(id)?.NetworkSettings as { Networks?: Record<string, { IPAddress?: string }> } | undefined;
  const out: Record<string, string> = {};
  for (const [name, n] of Object.entries(settings?.Networks ?? {})) if (n.IPAddress) out[name] = n.IPAddress;
  return out;
}

/** moby's links.go `Link.ToEnv`. */
function linkEnv(alias: string, linkName: string, ip: string, target: ContainerRecord): string[] {
  const prefix = alias.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  const env = [`${prefix}_NAME=${linkName}`];
  const ports = Object.keys(target.Config.ExposedPorts ?? {})
    .map((key) => ({ port: Number(key.split('/')[0]), proto: key.split('/')[1] ?? 'tcp' }))
    .sort((a, b) => a.port - b.port || a.proto.localeCompare(b.proto));
  if (ports.length > 0) env.push(`${prefix}_PORT=${ports[0]!.proto}://${ip}:${ports[0]!.port}`);
  for (const { port, proto } of ports) {
    const key = `${prefix}_PORT_${port}_${proto.toUpperCase()}`;
    env.push(`${key}=${proto}://${ip}:${port}`, `${key}_ADDR=${ip}`, `${key}_PORT=${port}`, `${key}_PROTO=${proto}`);
  }
  for (const entry of target.Config.Env) {
    const eq = entry.indexOf('=');
    if (eq < 0) continue;
    const key = entry.slice(0, eq);
    if (key === 'HOME' || key === 'PATH') continue;
    env.push(`${prefix}_ENV_${key}=${entry.slice(eq + 1)}`);
  }
  return env;
}
