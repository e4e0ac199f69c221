import { NotFoundError } from '@berth/errors';
import { deleteLinks, deleteNetns, listLinks, listNetns } from './host-links.js';
import type { NetworkContext } from './network-context.js';
import { overlayLinkNames } from './overlay-driver.js';
import type { Sandboxes } from './sandboxes.js';

/**
 * Reconciliation of the host with the network tables: settings of containers that no longer exist
 * are forgotten, and this agent's links (found by their alias) and namespaces (by their name) that
 * nothing in the tables accounts for are deleted — leftovers of a crash, of a container that died
 * while the agent was away, or of a failed teardown. Never touches another agent's objects.
 */
export class HostSweeper {
  constructor(
    private readonly ctx: NetworkContext,
    private readonly sandboxes: Sandboxes,
  ) {}

  /** Stops and forgets the sandboxes of containers the container manager no longer knows. */
  async forgetMissingContainers(): Promise<void> {
    for (const sandbox of this.ctx.store.sandboxes()) {
      try {
        this.ctx.lookup().get(sandbox.ContainerID);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        await this.sandboxes.remove(sandbox.ContainerID);
      }
    }
  }

  /** Deletes tagged veths, bridges (all of them unless `keepBridges`) and netns the tables do not account for. */
  async sweepHost(o: { keepBridges: boolean }): Promise<void> {
    const store = this.ctx.store;
    const bridges = new Set(o.keepBridges ? store.networks().map((n) => n.BridgeName).filter(Boolean) : []);
    // An overlay network's vxlan device goes with its bridge (overlay-driver.ts).
    const vxlans = new Set(o.keepBridges ? store.networks().filter((n) => n.Driver === 'overlay').map((n) => overlayLinkNames(n.Id).vxlan) : []);
    const veths = new Set(store.endpoints().map((e) => e.HostVeth).filter(Boolean));
    const leftovers = (await listLinks()).filter((link) => {
      if (!link.alias.startsWith(`${this.ctx.aliasPrefix}:`)) return false;
      return !(link.kind === 'bridge' ? bridges.has(link.name) : link.kind === 'vxlan' ? vxlans.has(link.name) : veths.has(link.name));
    });
    // In one `ip -batch` (deleteLinks); the rest of a batch that stopped is deleted one by one.
    for (const [link, err] of await deleteLinks(leftovers.map((l) => l.name))) this.ctx.log.warn({ link, err }, 'Cannot delete a leftover link');
    const namespaces = new Set(store.sandboxes().map((s) => s.Netns).filter(Boolean));
    for (const ns of listNetns()) {
      if (ns.startsWith(this.ctx.netnsPrefix) && !namespaces.has(ns)) {
        await deleteNetns(ns).catch((err) => this.ctx.log.warn({ netns: ns, err }, 'Cannot delete a leftover netns'));
      }
    }
  }
}
