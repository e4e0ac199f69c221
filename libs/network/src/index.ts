export { allocateAddress, planIpam, defaultSubnetPool, type IpamConfig, type IpamRequest } from './ipam.js';
export {
  parsePublish,
  parsePublishList,
  parseExpose,
  displayPorts,
  ephemeralPortRange,
  type PortBinding,
  type PortMap,
  type SummaryPort,
} from './port-spec.js';
export { hostsFile, resolvConf, parseExtraHost } from './container-files.js';
export { DnsServer, type DnsResolver } from './dns-server.js';
export { buildQuery, readAnswers } from './dns-message.js';
export { renderRules, rulesMentioning, chainNames, type NatState } from './nat-rules.js';
export {
  NetworkManager,
  type ContainerLookup,
  type ContainerNetworkRequest,
  type ContainerSandbox,
  type CreateNetworkOptions,
  type NetworkInspect,
  type NetworkManagerOptions,
} from './network-manager.js';
export type { NetworkRecord, EndpointRecord, SandboxRecord } from './types.js';
