import { FailedPreconditionError } from '@berth/errors';
import type { MetadataDb } from '@berth/metadata';
import type { ContainerLookup, NetworkEvent } from './network-options.js';
import { NetworkStore } from './network-store.js';
import type { NetworkRecord } from './types.js';
import type { Logger } from '@berth/log';

/**
 * What the parts of the network manager share: the network tables, the container lookup, the log,
 * and the names of this agent's host objects, all derived from its tag:
 *
 *   links   interface alias `berth:<tag>:net:<network id 12>` (bridges),
 *           `berth:<tag>:<container id 12>` (host ends of veths)
 *   netns   `berth-<tag>-<container id 12>` under /run/netns
 *   rules   chains `BERTH-<TAG>…` (nat-rules.ts)
 *
 * The guard against packets to the host's loopback (loopback-guard.ts) is the one host object no
 * agent owns alone.
 */
export class NetworkContext {
  readonly store: NetworkStore;
  private containers?: ContainerLookup;

  constructor(
    db: MetadataDb,
    readonly tag: string,
    readonly log: Logger,
    containers?: ContainerLookup,
    private readonly onEvent: (event: NetworkEvent) => void = () => {},
  ) {
    this.store = new NetworkStore(db);
    this.containers = containers;
  }

  /** Publishes Docker's event about `network` (`name`, `type` added to `attributes`); never throws. */
  emit(action: NetworkEvent['action'], network: NetworkRecord | undefined, attributes: Record<string, string> = {}): void {
    try {
      this.onEvent({ action, id: network?.Id ?? '', attributes: network ? { ...attributes, name: network.Name, type: network.Driver } : attributes });
    } catch {
      // A listener's failure must not break networking.
    }
  }

  setContainers(containers: ContainerLookup): void {
    this.containers = containers;
  }

  /** The container lookup. FailedPreconditionError before the container manager is set. */
  lookup(): ContainerLookup {
    if (!this.containers) throw new FailedPreconditionError('The network manager has no container lookup yet');
    return this.containers;
  }

  /** Every interface alias of this agent starts with this. */
  get aliasPrefix(): string {
    return `berth:${this.tag}`;
  }

  /** Every netns name of this agent starts with this. */
  get netnsPrefix(): string {
    return `berth-${this.tag}-`;
  }

  netnsName(containerId: string): string {
    return `${this.netnsPrefix}${containerId.slice(0, 12)}`;
  }
}
