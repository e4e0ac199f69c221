import * as grpc from '@grpc/grpc-js';
import type { ClusterStore, DrainRecord, NodeRecord } from '@berth/events';
import { SystemService, type AgentAnnouncement } from '@berth/proto';
import { NotFoundError } from '@berth/errors';
import { warnOnFailure, type Logger } from '@berth/log';
import type { NodeView } from './cluster-containers.js';
import type { ClusterRouter } from './cluster-router.js';
import type { DrainKeeper } from './node-drain.js';
import { alwaysLeading, type Leadership } from './gateway-lease.js';

/** How often the keeper looks at the hosts (announcements, and a probe of each agent). */
const TICK_MS = 1_000;
/** How long a placement waits for fresh node records before it decides on the last ones read. */
const REFRESH_MS = 1_000;
/** Probes in a row an agent must fail (refused, or no answer within PROBE_TIMEOUT_MS) to be down. */
const FAILED_PROBES = 2;
const PROBE_TIMEOUT_MS = 1_500;
/** Every this many ticks the keeper lists every node record (a record of a host it does not know, written by another gateway). */
const FULL_READ_TICKS = 30;

export interface NodeKeeperEvents {
  /** A host went down (its announcement lapsed, or its agent stopped answering). */
  onDown(hostId: string, record: NodeRecord): Promise<void>;
  /** A host that was down is back. */
  onUp(host: AgentAnnouncement): Promise<void>;
  /**
   * A node is to be drained (node-drain.ts): its availability became drain, or it is draining and
   * not drained when this gateway takes the lease or a host joins or comes back (another node may
   * fit now). `ifIdle`: only when no drain of it runs here (a drain another gateway asked for, or
   * left unfinished when it died, seen in KV), else one asked while it runs runs again after.
   */
  onDrain(hostId: string, o?: { ifIdle?: boolean }): void;
  /**
   * A host is ready that this gateway had not seen ready: new, back from down, or found when the
   * gateway starts (overlay-networks.ts creates the cluster's overlay networks it lacks).
   */
  onReady?(host: AgentAnnouncement): Promise<void>;
}

/**
 * The gateway's view of the nodes: a record per host in the KV bucket `cluster` (availability,
 * label changes, status, last seen), and the detection of a lost host. Several gateways may run:
 * every one reads the records from KV each tick and serves them (`node ls`, the router's `down`
 * hosts, placement's availability and labels); only the one holding the cluster duties' lease
 * (gateway-lease.ts) probes the agents, writes status changes and does what follows from them
 * (rescheduling.ts, node-drain.ts, overlay-networks.ts). Every write is read-change-write, checked
 * against the bucket's last sequence (ClusterStore.changeNode): a `node update` through one gateway
 * and the holder's status write through another both land.
 *
 * A host is `down` when its announcement lapsed (the `hosts` bucket's TTL, 15 s) or, sooner, when
 * its agent failed FAILED_PROBES probes in a row (System.Info, each with a deadline: a dead agent's
 * socket refuses at once, a hung one times out). A node set to drain is told to `events.onDrain`,
 * whose progress it keeps in the node's record (`drain`, forgotten when the node leaves drain).
 * The gateway that takes the lease over (the holder died mid-duty) resumes what may be unfinished:
 * the lost hosts' rescheduling and the drains not drained.
 */
export class NodeKeeper implements Omit<NodeView, 'reservations'>, DrainKeeper {
  private records = new Map<string, NodeRecord>();
  private readonly failures = new Map<string, number>();
  private readonly hosts = new Map<string, AgentAnnouncement>();
  /**
   * Hosts recorded down whose agent answers again, but whose `ready` this holder could not write
   * (NATS refused it: e.g. its file store on a full disk). Calls go to them meanwhile; what a host
   * coming back sets off (onReady, onUp) waits for the record.
   */
  private readonly answeringUnrecorded = new Set<string>();
  private timer?: NodeJS.Timeout;
  private ticking = false;
  private leading = false;
  private unread = false;
  private ticks = 0;

  constructor(
    private readonly router: ClusterRouter,
    private readonly store: ClusterStore,
    private readonly events: NodeKeeperEvents,
    private readonly log: Logger,
    private readonly lease: Leadership = alwaysLeading,
  ) {
    router.isDown = (hostId) => this.records.get(hostId)?.status === 'down' && !this.answeringUnrecorded.has(hostId);
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

  /** Whether this gateway does the cluster duties now (holds their lease). */
  leads(): boolean {
    return this.lease.held();
  }

  /**
   * Reads these nodes' records again now (direct gets, at most REFRESH_MS: a create must not wait
   * for NATS). NATS away (the last tick could not read), or too slow, the last ones read stay.
   */
  async refresh(hostIds: string[]): Promise<void> {
    if (this.unread) return;
    let late = false;
    const timer = new Promise<void>((r) => setTimeout(() => ((late = true), r()), REFRESH_MS).unref());
    const read = Promise.all([...new Set(hostIds)].map(async (id) => [id, await this.store.node(id)] as const)).then(
      (records) => {
        if (!late) for (const [id, record] of records) if (record !== undefined) this.records.set(id, record);
      },
      // Expected while NATS is away: the next tick's load() warns once about it.
      () => {},
    );
    await Promise.race([read, timer]);
  }

  availability(hostId: string): string {
    return this.records.get(hostId)?.availability ?? 'active';
  }

  ready(hostId: string): boolean {
    return this.records.get(hostId)?.status === 'ready';
  }

  labels(host: AgentAnnouncement): Record<string, string> {
    const labels = { ...(host.node?.labels ?? {}) };
    for (const [k, v] of Object.entries(this.records.get(host.hostId)?.labelOverrides ?? {})) {
      if (v === null) delete labels[k];
      else labels[k] = v;
    }
    return labels;
  }

  known(): number {
    return this.records.size;
  }

  /** Every node known: the records, and the announcement of the ready ones. */
  nodes(): Array<{ record: NodeRecord; host?: AgentAnnouncement }> {
    return [...this.records.values()].map((record) => ({ record, host: this.hosts.get(record.hostId) }));
  }

  /**
   * Changes a node (`node update`), revision-checked over its record in KV; becoming drain starts
   * its drain (here when this gateway holds the lease, else the holder sees it within a tick),
   * leaving drain forgets the drain's progress. @returns the record written.
   */
  async update(hostId: string, change: (current: NodeRecord) => NodeRecord): Promise<NodeRecord> {
    let draining = false;
    const written = await this.store.changeNode(hostId, (stored) => {
      const before = stored ?? this.records.get(hostId);
      if (!before) return undefined;
      const record = change(before);
      draining = record.availability === 'drain' && before.availability !== 'drain';
      return { ...record, drain: record.availability !== 'drain' ? undefined : draining ? { state: 'draining', moved: 0, staying: [], updatedAt: Date.now() } : record.drain };
    });
    if (!written) throw new NotFoundError(`No such node: ${hostId}`);
    this.records.set(hostId, written);
    if (draining && this.leads()) this.events.onDrain(hostId);
    return written;
  }

  async setDrain(hostId: string, drain: DrainRecord): Promise<void> {
    const written = await this.store
      .changeNode(hostId, (r) => (r?.availability === 'drain' ? { ...r, drain } : undefined))
      .catch(warnOnFailure(this.log, { host: hostId }, 'Cannot write a drain\'s progress to NATS KV'));
    if (written) this.records.set(hostId, written);
  }

  async forget(hostId: string): Promise<void> {
    this.records.delete(hostId);
    this.hosts.delete(hostId);
    await this.store.deleteNode(hostId);
  }

  /**
   * Reads the records from KV: every one (a key listing: a consumer on the stream) at the start and
   * every FULL_READ_TICKS ticks, else the ones of the hosts known and announced (direct gets, cheap
   * every second). NATS away, the last ones read are kept (told once, not every second).
   */
  private async load(ids?: Iterable<string>): Promise<void> {
    try {
      if (ids === undefined) {
        this.records = new Map((await this.store.nodes()).map((r) => [r.hostId, r]));
      } else {
        const read = await Promise.all([...new Set(ids)].map(async (id) => [id, await this.store.node(id)] as const));
        this.records = new Map(read.filter((e): e is readonly [string, NodeRecord] => e[1] !== undefined).map(([id, r]) => [id, r]));
      }
      this.unread = false;
    } catch (err) {
      if (!this.unread) this.log.warn({ err }, 'Cannot read the nodes from NATS KV: the last records read are kept');
      this.unread = true;
    }
  }

  /** One look at every host: the records from KV; with the lease, the probes and what follows. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const announced = await this.router.announced();
      for (const h of announced) this.hosts.set(h.hostId, h);
      this.ticks++;
      await this.load(this.ticks % FULL_READ_TICKS === 0 ? undefined : [...this.records.keys(), ...announced.map((h) => h.hostId)]);
      const leading = this.leads();
      const gained = leading && !this.leading;
      this.leading = leading;
      if (!leading) return;
      if (gained) this.failures.clear();
      await this.duties(announced, gained);
    } catch (err) {
      this.log.warn({ err }, 'Cannot check the nodes');
    } finally {
      this.ticking = false;
    }
  }

  /** The lease holder's share of a tick. `gained`: it just took the lease (this gateway started, or the holder died). */
  private async duties(announced: AgentAnnouncement[], gained: boolean): Promise<void> {
    const now = Date.now();
    await Promise.all(announced.map(async (h) => this.failures.set(h.hostId, (await this.probe(h)) ? 0 : (this.failures.get(h.hostId) ?? 0) + 1)));
    const announcedIds = new Set(announced.map((h) => h.hostId));
    let joined = gained;
    for (const h of announced) {
      const record = this.records.get(h.hostId);
      // A host never recorded is recorded ready only once its agent answers: one whose certificate
      // is refused (revoked by `node rm`, certificate-revocations.ts) never is. Nor is one recorded
      // down until its latest probe succeeded: its announcement can outlive its agent (the
      // directory serves an entry NATS lost until it would have lapsed), and a failure or two under
      // FAILED_PROBES (or none counted yet, after the lease changed hands) is no sign of life.
      const failures = this.failures.get(h.hostId) ?? 0;
      const answering = record === undefined || record.status === 'down' ? failures === 0 : failures < FAILED_PROBES;
      if (!answering) {
        this.answeringUnrecorded.delete(h.hostId);
        continue;
      }
      const wasDown = record?.status === 'down';
      if (!record || wasDown) joined = true;
      if (!record || wasDown || now - record.lastSeen > 5_000 || record.hostname !== h.hostname) {
        const saved = await this.save(h.hostId, (r) => ({
          hostId: h.hostId,
          hostname: h.hostname,
          availability: r?.availability ?? 'active',
          labelOverrides: r?.labelOverrides ?? {},
          lastSeen: now,
          status: 'ready',
          drain: r?.drain,
        }));
        if (saved === undefined && wasDown) {
          this.answeringUnrecorded.add(h.hostId);
          continue;
        }
      }
      this.answeringUnrecorded.delete(h.hostId);
      if (!record || wasDown) {
        await this.events.onReady?.(h).catch((err: unknown) => this.log.warn({ host: h.hostId, hostname: h.hostname, err }, 'Cannot settle a host that is ready'));
      }
      if (wasDown) {
        this.log.info({ host: h.hostId, hostname: h.hostname }, 'Host is back');
        await this.events.onUp(h).catch((err: unknown) => this.log.error({ host: h.hostId, hostname: h.hostname, err }, 'Cannot settle a host coming back'));
      }
    }
    // Lapsed: not announced now. The list read at the tick's start can be seconds old here (a KV
    // read that timed out, the probes): an agent that restarted meanwhile has announced itself
    // again and calls reach it (`run -d`), so it is looked for in the directory as it is now, the
    // list those calls were routed by (a down verdict written for it made its next call fail).
    if ([...this.records.values()].some((r) => !announcedIds.has(r.hostId))) {
      for (const h of await this.router.announced()) announcedIds.add(h.hostId);
    }
    for (const record of [...this.records.values()]) {
      const lapsed = !announcedIds.has(record.hostId);
      const failing = (this.failures.get(record.hostId) ?? 0) >= FAILED_PROBES;
      if (record.status === 'down') {
        // A holder that died while rescheduling a lost host's containers: what it did not move is moved now.
        // (One failed probe suffices here: the holder before judged it down.)
        if (gained && (lapsed || (this.failures.get(record.hostId) ?? 0) > 0)) await this.rescheduleLost(record);
        continue;
      }
      if (!lapsed && !failing) continue;
      this.log.warn(
        { host: record.hostId, hostname: record.hostname, reason: lapsed ? 'its announcement lapsed' : `its agent failed ${FAILED_PROBES} probes in a row` },
        'Host is down',
      );
      const down = await this.save(record.hostId, (r) => (r === undefined || r.status === 'down' ? undefined : { ...r, status: 'down' }));
      if (down) await this.rescheduleLost(down);
    }
    for (const r of this.records.values()) {
      if (r.availability !== 'drain' || r.status !== 'ready') continue;
      // Every drain not drained when a host joins or comes back (or the lease changes hands); else
      // one that another gateway asked for, or whose gateway died, and that does not run here.
      if (joined && r.drain?.state !== 'drained') this.events.onDrain(r.hostId, { ifIdle: !gained });
      else if (r.drain?.state === 'draining') this.events.onDrain(r.hostId, { ifIdle: true });
    }
  }

  private async rescheduleLost(record: NodeRecord): Promise<void> {
    await this.events.onDown(record.hostId, record).catch((err: unknown) => this.log.error({ host: record.hostId, hostname: record.hostname, err }, 'Cannot reschedule the containers of a lost host'));
  }

  /** Writes a change to a node's record (ClusterStore.changeNode) and keeps what was written. */
  private async save(hostId: string, change: (current: NodeRecord | undefined) => NodeRecord | undefined): Promise<NodeRecord | undefined> {
    const written = await this.store.changeNode(hostId, change).catch(warnOnFailure(this.log, { host: hostId }, 'Cannot write a node to NATS KV'));
    if (written) this.records.set(hostId, written);
    return written ?? undefined;
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
