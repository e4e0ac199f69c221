import type { FlagSpec } from './flags.js';

/**
 * The network flags of `run` / `create` (docker's `--network`, `-p`, `-P`, `--dns`, ...). What they
 * put in the create request is network-spec.ts's, which checks `-p` and `--expose` as the docker CLI
 * does, so a typo fails before anything is created; the platform parses them again.
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
