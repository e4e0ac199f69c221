/**
 * The cluster's index of overlay endpoints, as the network manager sees it: every agent publishes
 * its running containers' overlay endpoints there and watches everybody's, to write its VXLAN
 * devices' FDB and neighbour entries and to answer DNS for containers on other hosts. The
 * platform implements it on a NATS KV bucket (libs/events overlay-endpoint-bucket.ts); without one
 * an overlay network reaches only the containers of its own host.
 *
 * An endpoint's address is claimed by publishing it: two containers can never hold one address of
 * an overlay network, whatever host they run on (create-if-absent on the key network + address).
 */
import type { OverlayEndpointEntry } from '@berth/events';

/**
 * One running container's attachment to an overlay network, as the cluster knows it: its address
 * on the overlay subnet, MAC, container id and name (without the slash), aliases, and the underlay
 * address and id of the host running it (where its frames are sent). The bucket's entry shape.
 */
export type OverlayEndpoint = OverlayEndpointEntry;

/** What the directory knows now: live hosts' underlay addresses and their endpoints. */
export interface OverlayView {
  hosts: string[];
  endpoints: OverlayEndpoint[];
}

export interface OverlayDirectory {
  /**
   * Publishes `endpoint`, and with it claims its address: false when another container (on any
   * live host) holds that address of that network. The directory keeps it published (renewed)
   * until `release`; a host that stops renewing (down) loses its endpoints after a TTL.
   */
  claim(endpoint: OverlayEndpoint): Promise<boolean>;
  /** Withdraws the endpoint of `ip` on the network, if this host published it. */
  release(networkId: string, ip: string): Promise<void>;
  /**
   * Announces this host (its underlay address) and calls `onView` with the whole live view now and
   * after every change. The returned function stops watching and withdraws this host.
   */
  watch(self: { hostId: string; host: string }, onView: (view: OverlayView) => void): Promise<() => Promise<void>>;
}

/** The agent's overlay settings (NetworkManagerOptions.overlay). */
export interface OverlayOptions {
  /** The cluster's endpoint index; without it an overlay network reaches only this host's containers. */
  directory?: OverlayDirectory;
  /** The address other hosts reach this one at (VXLAN's `local`); default the default route's device's. */
  underlayAddress?: string;
  /** This host's id (who published an endpoint). */
  hostId?: string;
}
