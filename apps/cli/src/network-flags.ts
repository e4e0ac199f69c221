import { parseExpose, parsePublish, displayPorts } from '@berth/network';
import type { ContainerSpec, ContainerSummary } from '@berth/proto';
import type { FlagSpec, FlagValue } from './flags.js';

/**
 * The network flags of `run` / `create` (docker's `--network`, `-p`, `-P`, `--dns`, ...) and what
 * they put in the create request. `-p` and `--expose` are checked here, as the docker CLI does, so
 * a typo fails before anything is created; the platform parses them again.
 */
export const networkFlags: FlagSpec[] = [
  { long: 'network', type: 'string', aliases: ['net'], description: 'Connect a container to a network' },
  { long: 'network-alias', type: 'list', aliases: ['net-alias'], description: 'Add network-scoped alias for the container' },
  { long: 'publish', short: 'p', type: 'list', description: "Publish a container's port(s) to the host" },
  { long: 'publish-all', short: 'P', type: 'bool', description: 'Publish all exposed ports to random ports' },
  { long: 'expose', type: 'list', description: 'Expose a port or a range of ports' },
  { long: 'dns', type: 'list', description: 'Set custom DNS servers' },
  { long: 'dns-search', type: 'list', description: 'Set custom DNS search domains' },
  { long: 'dns-option', type: 'list', aliases: ['dns-opt'], description: 'Set DNS options' },
  { long: 'add-host', type: 'list', description: 'Add a custom host-to-IP mapping (host:ip)' },
  { long: 'ip', type: 'string', description: 'IPv4 address (e.g., 172.30.100.104)' },
  { long: 'mac-address', type: 'string', description: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)' },
];

type NetworkFields = Pick<
  ContainerSpec,
  | 'networkMode'
  | 'publish'
  | 'publishAll'
  | 'networkAliases'
  | 'dns'
  | 'dnsSearch'
  | 'dnsOptions'
  | 'extraHosts'
  | 'ipv4Address'
  | 'macAddress'
  | 'expose'
>;

/** The create request's network fields from the parsed flags; `invalid` makes the usage error to throw. */
export function networkSpecFields(values: Record<string, FlagValue>, invalid: (message: string) => Error): NetworkFields {
  const list = (name: string) => (values[name] as string[] | undefined) ?? [];
  const str = (name: string) => (values[name] as string | undefined) ?? '';
  for (const spec of list('publish')) {
    try {
      parsePublish(spec);
    } catch (err) {
      throw invalid(`invalid argument "${spec}" for "-p, --publish" flag: ${(err as Error).message}`);
    }
  }
  for (const spec of list('expose')) {
    try {
      parseExpose(spec);
    } catch (err) {
      throw invalid(`invalid argument "${spec}" for "--expose" flag: ${(err as Error).message}`);
    }
  }
  return {
    networkMode: str('network'),
    publish: list('publish'),
    publishAll: (values['publish-all'] as boolean | undefined) ?? false,
    networkAliases: list('network-alias'),
    dns: list('dns'),
    dnsSearch: list('dns-search'),
    dnsOptions: list('dns-option'),
    extraHosts: list('add-host'),
    ipv4Address: str('ip'),
    macAddress: str('mac-address'),
    expose: list('expose'),
  };
}

/** The `ps` PORTS column of a container (`0.0.0.0:8080->80/tcp, 443/tcp`). */
export function portsColumn(c: ContainerSummary): string {
  return displayPorts(
    (c.ports ?? []).map((p) => ({
      ...(p.publicPort ? { IP: p.ip, PublicPort: p.publicPort } : {}),
      PrivatePort: p.privatePort,
      Type: p.type,
    })),
  );
}
