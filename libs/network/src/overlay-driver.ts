import { InvalidArgumentError } from '@berth/errors';
import { defaultVxlanPort, maxVni, vxlanIdOption, vxlanPortOption } from '@berth/events';
import { mustExec } from './host-exec.js';
import { deleteLink, ensureBridge } from './host-links.js';
import { ensureVxlan, syncVxlanPeers, vxlanOverhead, type RemotePeer, type Underlay } from './vxlan-links.js';

/**
 * Docker's overlay driver, the kernel's way (libnetwork drivers/overlay): one subnet shared by
 * every host of the cluster. On each host an overlay network is
 *
 *   container eth0 ──veth──┐
 *   container eth0 ──veth──┤ bridge ov-<id12>  (gateway address, MTU = underlay − 50)
 *                          └ vxlan  vx-<id12>  (VNI, UDP port, local = the host's underlay address)
 *                                     │  UDP 4789 to the host of the destination MAC (static FDB)
 *                                     ▼
 *                              underlay device (eth0 of the host)
 *
 * Unlike Docker, the bridge lives in the host's namespace (not a per-network one) and carries the
 * gateway address, the same on every host: the embedded DNS server, published ports (DNAT to the
 * container's address) and outbound masquerading work as on a bridge network, on the host running
 * the container. ARP for the gateway is answered by the local bridge; the vxlan device's `proxy`
 * keeps ARP requests from ever crossing to other hosts, so the hosts' gateways never clash.
 *
 * Frames find their host through entries written from the cluster's endpoint index (overlay
 * directory, overlay-peers.ts): nothing is learned from traffic.
 */

/** The overlay-specific settings of a network, the same on every host. */
export interface OverlaySettings {
  /** VXLAN network identifier (Docker's `com.docker.network.driver.overlay.vxlanid_list`). */
  vni: number;
  /** UDP destination port. */
  port: number;
}

export { firstVni, nextVni, vxlanIdOption, vxlanPortOption } from '@berth/events';
/** The MTU option Docker's drivers take (`-o com.docker.network.driver.mtu=1400`). */
export const mtuOption = 'com.docker.network.driver.mtu';


/** The VNI and port of an overlay network's options. InvalidArgumentError naming the option when malformed. */
export function overlaySettings(options: Record<string, string>): OverlaySettings {
  const vniText = options[vxlanIdOption];
  const vni = Number(vniText);
  if (!vniText || !Number.isInteger(vni) || vni < 1 || vni > maxVni) {
    throw new InvalidArgumentError(`invalid overlay option ${vxlanIdOption}="${vniText ?? ''}": expected a VXLAN id from 1 to ${maxVni}`);
  }
  const portText = options[vxlanPortOption] ?? String(defaultVxlanPort);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`invalid overlay option ${vxlanPortOption}="${portText}": expected a UDP port`);
  return { vni, port };
}


/** The names of an overlay network's links on a host. */
export function overlayLinkNames(networkId: string): { bridge: string; vxlan: string } {
  return { bridge: `ov-${networkId.slice(0, 12)}`, vxlan: `vx-${networkId.slice(0, 12)}` };
}

/** The MTU of the network's links: `requested` (`-o com.docker.network.driver.mtu`) capped at the underlay's less the VXLAN overhead. */
export function overlayMtu(underlay: Underlay, requested?: number): number {
  const most = underlay.mtu - vxlanOverhead;
  return requested && requested > 0 ? Math.min(requested, most) : most;
}

export interface OverlayHostOptions {
  networkId: string;
  settings: OverlaySettings;
  /** The gateway address with prefix (`10.0.1.1/24`): the same on every host. */
  gateway: string;
  /** Alias prefix of the owner (`berth:<tag>`), as every Berth link carries. */
  aliasPrefix: string;
  underlay: Underlay;
  /** Requested MTU (an option of the network); the underlay's less 50 at most. */
  mtu?: number;
  netns?: string;
}

/**
 * Brings one overlay network up on this host: its bridge (with the gateway address) and its vxlan
 * device as a port, both at the overlay MTU. Idempotent. @returns the MTU containers' veths get.
 */
export async function bringUpOverlay(o: OverlayHostOptions): Promise<number> {
  const names = overlayLinkNames(o.networkId);
  const mtu = overlayMtu(o.underlay, o.mtu);
  const id12 = o.networkId.slice(0, 12);
  await ensureBridge(names.bridge, o.gateway, `${o.aliasPrefix}:net:${id12}`, { mtu, netns: o.netns });
  await ensureVxlan({
    name: names.vxlan,
    alias: `${o.aliasPrefix}:vx:${id12}`,
    vni: o.settings.vni,
    port: o.settings.port,
    underlay: o.underlay,
    bridge: names.bridge,
    mtu,
    netns: o.netns,
  });
  return mtu;
}

/** Deletes the network's vxlan device and bridge on this host; missing ones are not an error. */
export async function takeDownOverlay(networkId: string, o: { netns?: string } = {}): Promise<void> {
  const names = overlayLinkNames(networkId);
  if (o.netns) {
    for (const name of [names.vxlan, names.bridge]) await mustExec('ip', ['-n', o.netns, 'link', 'del', 'dev', name]).catch(() => undefined); // already gone
    return;
  }
  await deleteLink(names.vxlan);
  await deleteLink(names.bridge);
}

/**
 * Points the network's vxlan device at the other hosts: a flood entry for each host in `hosts`
 * (other than `self`, this host's underlay address) and FDB + neighbour entries for each container
 * of `peers` running elsewhere. @returns how many entries changed.
 */
export async function syncOverlayPeers(networkId: string, want: { self: string; hosts: Iterable<string>; peers: Iterable<RemotePeer> }, o: { netns?: string } = {}): Promise<number> {
  const hosts = [...want.hosts].filter((h) => h !== want.self);
  const peers = [...want.peers].filter((p) => p.host !== want.self);
  return syncVxlanPeers(overlayLinkNames(networkId).vxlan, { hosts, peers }, o);
}
