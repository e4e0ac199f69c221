import type { IpamConfig } from './ipam.js';
import type { NetworkRecord } from './types.js';

/**
 * A local network's record with docker's defaults (no IPv6, not internal, attachable or ingress, no
 * options or labels), created now unless `created` says when.
 */
export function networkRecord(
  name: string,
  options: { id: string; driver: NetworkRecord['Driver']; config: IpamConfig[]; created?: string },
): NetworkRecord {
  return {
    Name: name,
    Id: options.id,
    Created: options.created ?? new Date().toISOString(),
    Scope: 'local',
    Driver: options.driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: options.config },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Options: {},
    Labels: {},
  };
}
