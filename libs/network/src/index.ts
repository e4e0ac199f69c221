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
export { hostModeHostsFile, hostsFile, resolvConf, parseExtraHost } from './container-files.js';
export { DnsServer, type DnsResolver } from './dns-server.js';
export { buildQuery, readAnswers } from './dns-message.js';
export { renderRules, rulesMentioning, chainNames, type NatState } from './nat-rules.js';
export { NetworkManager } from './network-manager.js';
export type {
  ConnectOptions,
  ContainerLookup,
  ContainerNetworkRequest,
  ContainerSandbox,
  CreateNetworkOptions,
  NetworkManagerOptions,
} from './network-options.js';
export type { NetworkInspect } from './inspect-views.js';
export type { NetworkRecord, EndpointRecord, SandboxRecord } from './types.js';
