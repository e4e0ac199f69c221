/**
 * The settings an overlay network carries in its Options, the same on every host: written by the
 * gateway that creates it (apps/api overlay-networks.ts), read by every agent's network manager
 * (libs/network overlay-driver.ts). Here, beside the record of it in KV `cluster` (cluster-store.ts),
 * because both sides read them.
 */

/** Docker's option key of the VXLAN id (as `network inspect` shows it). */
export const vxlanIdOption = 'com.docker.network.driver.overlay.vxlanid_list';
/** Berth's option key of the VXLAN UDP port (Docker's swarm-wide `--data-path-port`). */
export const vxlanPortOption = 'berth.overlay.vxlan_port';
/** The IANA port of VXLAN (RFC 7348), Docker's default data path port. */
export const defaultVxlanPort = 4789;
/** The first VXLAN id Docker's overlay allocator hands out. */
export const firstVni = 4096;
export const maxVni = (1 << 24) - 1;

/** The lowest VXLAN id from `firstVni` that `taken` does not hold. */
export function nextVni(taken: Iterable<number>): number {
  const used = new Set(taken);
  for (let vni = firstVni; vni <= maxVni; vni++) if (!used.has(vni)) return vni;
  throw new RangeError('no VXLAN id is left for another overlay network');
}
