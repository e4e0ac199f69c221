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
export type * from './network-options.js';
export type { NetworkInspect } from './inspect-views.js';
export type { NetworkRecord, EndpointRecord, SandboxRecord } from './types.js';
export type { OverlayDirectory, OverlayEndpoint, OverlayView } from './overlay-directory.js';
export type { OverlayOptions } from './overlay-directory.js';
export { overlaySubnetPool } from './overlay-networks.js';
export { firstVni, nextVni, vxlanIdOption, vxlanPortOption, overlayLinkNames } from './overlay-driver.js';
export { defaultVxlanPort, vxlanOverhead } from './vxlan-links.js';
