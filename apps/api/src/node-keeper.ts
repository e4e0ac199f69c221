import * as grpc from '@grpc/grpc-js';
import type { ClusterStore, DrainRecord, NodeRecord } from '@berth/events';
import { SystemService, type AgentAnnouncement } from '@berth/proto';
import { warnOnFailure, type Logger } from '@berth/log';
import type { NodeView } from './cluster-containers.js';
import type { ClusterRouter } from './cluster-router.js';
import type { DrainKeeper } from './node-drain.js';
import { PlacementReservations } from './placement-reservations.js';

/** How often the keeper looks at the hosts (announcements, and a probe of each agent). */
const TICK_MS = 1_000;
/** Probes in a row an agent must fail (refused, or no answer within PROBE_TIMEOUT_MS) to be down. */
const FAILED_PROBES = 2;
const PROBE_TIMEOUT_MS = 1_500;

export interface NodeKeeperEvents {
  /** A host went down (its announcement lapsed, or its agent stopped answering). */
  onDown(hostId: string, record: NodeRecord): Promise<void>;
  /** A host that was down is back. */
  onUp(host: AgentAnnouncement): Promise<void>;
  /**
   * A node is to be drained (node-drain.ts): its availability became drain, or it is draining and
   * not drained when this gateway starts or a host joins or comes back (another node may fit now).
   */
  onDrain(hostId: string): void;
  /**
   * A host is ready that this gateway had not seen ready: new, back from down, or found when the
   * gateway starts (overlay-networks.ts creates the cluster's overlay networks it lacks).
   */
  onReady?(host: AgentAnnouncement): Promise<void>;
}

/**
 * The gateway's view of the nodes: a record per host in the KV bucket `cluster` (availability,
 * label changes, status, last seen), and the detection of a lost host. A host is `down` when its
 * announcement lapsed (the `hosts` bucket's TTL, 15 s) or, sooner, when its agent failed
 * FAILED_PROBES probes in a row (System.Info, each with a deadline: a dead agent's socket refuses at
 * once, a hung one times out). The change is written to KV and told to `events` (rescheduling.ts).
 * A node set to drain is told to `events.onDrain` (node-drain.ts), whose progress it keeps in the
 * node's record (`drain`, forgotten when the node leaves drain).
 */
export class NodeKeeper implements NodeView, DrainKeeper {
  readonly reservations = new PlacementReservations();
  private records = new Map<string, NodeRecord>();
  private readonly failures = new Map<string, number>();
  private readonly hosts = new Map<string, AgentAnnouncement>();
  private timer?: NodeJS.Timeout;
  private ticking = false;
  private ticked = false;

  constructor(
    private readonly router: ClusterRouter,
    private readonly store: ClusterStore,
    private readonly events: NodeKeeperEvents,
    private readonly log: Logger,
  ) {
    router.isDown = (hostId) => this.records.get(hostId)?.status === 'down';
  }

  start(): void {
    const loop = () => {
      this.timer = setTimeout(() => void this.tick().finally(loop), TICK_MS);
    };
    void this.load().finally(loop);
  }

  close(): void {
    clearTimeout(this.timer);
  }

  availability(hostId: string): string {
    return this.records.get(hostId)?.availability ?? 'active';
  }

  labels(host: AgentAnnouncement): Record<string, string> {
    const labels = { ...(host.node?.labels ?? {}) };
    for (const [k, v] of Object.entries(this.records.get(host.hostId)?.labelOverrides ?? {})) {
      if (v === null) delete labels[k];
      else labels[k] = v;
    }
    return labels;
  }

  /** Every node known: the records, and the announcement of the ready ones. */
  nodes(): Array<{ record: NodeRecord; host?: AgentAnnouncement }> {
    return [...this.records.values()].map((record) => ({ record, host: this.hosts.get(record.hostId) }));
  }

  /** Changes a node (`node update`); becoming drain starts its drain, leaving drain forgets the drain's progress. */
  async update(record: NodeRecord): Promise<void> {
    const before = this.records.get(record.hostId);
    const draining = record.availability === 'drain' && before?.availability !== 'drain';
    const next: NodeRecord = { ...record, drain: record.availability !== 'drain' ? undefined : draining ? { state: 'draining', moved: 0, staying: [], updatedAt: Date.now() } : record.drain };
    this.records.set(record.hostId, next);
    await this.store.putNode(next);
    if (draining) this.events.onDrain(record.hostId);
  }

  async setDrain(hostId: string, drain: DrainRecord): Promise<void> {
    const record = this.records.get(hostId);
    if (record?.availability !== 'drain') return;
    const next = { ...record, drain };
    this.records.set(hostId, next);
    await this.save(next);
  }

  async forget(hostId: string): Promise<void> {
    this.records.delete(hostId);
    this.hosts.delete(hostId);
    await this.store.deleteNode(hostId);
  }

  private async load(): Promise<void> {
    try {
      for (const r of await this.store.nodes()) this.records.set(r.hostId, r);
    } catch (err) {
      this.log.warn({ err }, 'Cannot read the nodes from NATS KV');
    }
  }

  /** One look at every host. Exported for tests through `tickNow`. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const announced = await this.router.announced();
      const now = Date.now();
      await Promise.all(announced.map(async (h) => this.hosts.set(h.hostId, h) && this.failures.set(h.hostId, (await this.probe(h)) ? 0 : (this.failures.get(h.hostId) ?? 0) + 1)));
      const announcedIds = new Set(announced.map((h) => h.hostId));
      let joined = !this.ticked;
      this.ticked = true;
      for (const h of announced) {
        const record = this.records.get(h.hostId);
        const answering = (this.failures.get(h.hostId) ?? 0) < FAILED_PROBES;
        if (!answering) continue;
        const next: NodeRecord = {
          hostId: h.hostId,
          hostname: h.hostname,
          availability: record?.availability ?? 'active',
          labelOverrides: record?.labelOverrides ?? {},
          lastSeen: now,
          status: 'ready',
          drain: record?.drain,
        };
        const wasDown = record?.status === 'down';
        if (!record || wasDown) joined = true;
        this.records.set(h.hostId, next);
        if (!record || wasDown || now - record.lastSeen > 5_000 || record.hostname !== h.hostname) await this.save(next);
        if (!record || wasDown) {
          await this.events.onReady?.(h).catch((err: unknown) => this.log.warn({ host: h.hostId, hostname: h.hostname, err }, 'Cannot settle a host that is ready'));
        }
        if (wasDown) {
          this.log.info({ host: h.hostId, hostname: h.hostname }, 'Host is back');
          await this.events.onUp(h).catch((err: unknown) => this.log.error({ host: h.hostId, hostname: h.hostname, err }, 'Cannot settle a host coming back'));
        }
      }
      for (const record of this.records.values()) {
        if (record.status === 'down') continue;
        const lapsed = !announcedIds.has(record.hostId);
        const failing = (this.failures.get(record.hostId) ?? 0) >= FAILED_PROBES;
        if (!lapsed && !failing) continue;
        const down = { ...record, status: 'down' };
        this.records.set(record.hostId, down);
        this.log.warn(
          { host: record.hostId, hostname: record.hostname, reason: lapsed ? 'its announcement lapsed' : `its agent failed ${FAILED_PROBES} probes in a row` },
          'Host is down',
        );
        await this.save(down);
        await this.events.onDown(record.hostId, down).catch((err: unknown) => this.log.error({ host: record.hostId, hostname: record.hostname, err }, 'Cannot reschedule the containers of a lost host'));
      }
      if (joined) {
        for (const r of this.records.values()) if (r.availability === 'drain' && r.status === 'ready' && r.drain?.state !== 'drained') this.events.onDrain(r.hostId);
      }
    } catch (err) {
      this.log.warn({ err }, 'Cannot check the nodes');
    } finally {
      this.ticking = false;
    }
  }

  private async save(record: NodeRecord): Promise<void> {
    await this.store.putNode(record).catch(warnOnFailure(this.log, { host: record.hostId, hostname: record.hostname }, 'Cannot write a node to NATS KV'));
  }

  private probe(host: AgentAnnouncement): Promise<boolean> {
    const m = SystemService.info;
    return new Promise((resolve) => {
      this.router
        .client(host.address)
        .makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, new grpc.Metadata(), { deadline: Date.now() + PROBE_TIMEOUT_MS }, (err) => resolve(!err));
    });
  }
}
