import { parseExpose, parsePublish, displayPorts } from '@berth/network';
import type { ContainerSpec, ContainerSummary } from '@berth/proto';
import type { FlagValue } from './flags.js';

/**
 * What the network flags of `run` / `create` (network-flags.ts) put in the create request, and the
 * `ps` PORTS column. Apart from the flag table, so that the command table (loaded by every command)
 * does not load libs/network.
 */

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
