import type { NatsConnection } from 'nats';
import { CLUSTER_BUCKET } from './subjects.js';
import { PlatformBucket } from './platform-bucket.js';
import { isLiveEntry } from './kv-entries.js';
import { NameClaims } from './name-claims.js';
import { SequencedBucket } from './sequenced-bucket.js';

/** What the gateway remembers of a host, beyond its TTL'd announcement (which lapses when it dies). */
export interface NodeRecord {
  hostId: string;
  hostname: string;
  /** "active" | "drain" | "pause" (`node update --availability`). */
  availability: string;
  /** Labels added by `node update --label-add` (over the announced ones); removed ones map to null. */
  labelOverrides: Record<string, string | null>;
  /** When the gateway last saw its announcement (unix ms). */
  lastSeen: number;
  /** "ready", or "down" once its announcement lapsed (the gateway writes the change). */
  status: string;
  /** While availability is "drain": how far moving its containers to other nodes got (apps/api node-drain.ts). */
  drain?: DrainRecord;
}

/** A drain's progress: containers moved off the node, and the ones that stay and why. */
export interface DrainRecord {
  state: 'draining' | 'drained' | 'incomplete';
  moved: number;
  staying: Array<{ id: string; name: string; reason: string }>;
  updatedAt: number;
}

/** Where a container was placed, and what to place again when its host dies (restart policies). */
export interface PlacementRecord {
  id: string;
  name: string;
  hostId: string;
  /** The CreateContainerRequest, base64 of its protobuf bytes: created again elsewhere when the host dies. */
  request: string;
  /** Its restart policy asks for it to run (always, unless-stopped, on-failure). */
  restart: boolean;
  /** Its `--constraint`s (sent as call metadata, not in the request): honoured when it is placed again. */
  constraints?: string[];
  /** Its placement preferences (`spread=node.labels.KEY`) and max replicas per node, honoured likewise. */
  preferences?: string[];
  maxReplicasPerNode?: number;
  createdAt: number;
}

/**
 * An overlay network of the cluster (apps/api overlay-networks.ts): its VNI is the key, so two
 * networks never share one; the create request (base64 protobuf, with the chosen id, subnet and
 * VNI) is what a host that was away gets when it comes back.
 */
export interface OverlayNetworkRecord {
  id: string;
  name: string;
  vni: number;
  subnet: string;
  request: string;
  createdAt: number;
}

const nodeKey = (hostId: string) => `node.${hostId}`;
const overlayKey = (vni: number) => `overlay-network.${vni}`;
const placementKey = (id: string) => `placement.${id}`;
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/**
 * The cluster's state that outlives any one process, in the KV bucket `cluster` (no TTL, written by
 * the gateway only; several gateways share it):
 *
 *   node.<hostId>          NodeRecord (JSON)       availability, label changes, status, last seen
 *   placement.<containerId> PlacementRecord (JSON)  which host runs a container, and how to recreate it
 *   overlay-network.<vni>   OverlayNetworkRecord (JSON)  an overlay network, created on every host
 *
 * A key two gateways may write at once (a node's record: `changeNode`; an overlay network's VNI:
 * `claimOverlayNetwork`) is read and written naming the bucket's stream's last sequence
 * (sequenced-bucket.ts), not the key's revision: nats-server before 2.9.21 let two revision-checked
 * writes of one key in flight at once both through (nats-io/nats-server#4320), so two gateways could
 * both claim one VNI, or one node change overwrite another. Any write to the bucket (a placement's)
 * refuses such a write, which is then read and decided again. The container names being created
 * are claimed in a bucket of their own (`name-claims`, name-claims.ts: claimName), written the same way.
 */
export class ClusterStore {
  private readonly bucket: PlatformBucket;
  private readonly sequenced: SequencedBucket;
  private readonly names: NameClaims;

  constructor(nc: NatsConnection) {
    this.bucket = new PlatformBucket(nc, CLUSTER_BUCKET);
    this.sequenced = new SequencedBucket(nc, CLUSTER_BUCKET);
    this.names = new NameClaims(nc);
  }

  private async read<T>(prefix: string): Promise<T[]> {
    const entries = await this.bucket.entries(`${prefix}.>`);
    return entries.map((entry) => JSON.parse(new TextDecoder().decode(entry.value)) as T);
  }

  private async put(key: string, value: unknown): Promise<void> {
    await (await this.bucket.open()).put(key, json(value));
  }

  nodes(): Promise<NodeRecord[]> {
    return this.read<NodeRecord>('node');
  }

  /** One node's record (a direct get: no consumer is made, unlike `nodes()`), undefined when there is none. */
  async node(hostId: string): Promise<NodeRecord | undefined> {
    const entry = await (await this.bucket.open()).get(nodeKey(hostId));
    return entry && isLiveEntry(entry) ? (JSON.parse(new TextDecoder().decode(entry.value)) as NodeRecord) : undefined;
  }

  putNode(node: NodeRecord): Promise<void> {
    return this.put(nodeKey(node.hostId), node);
  }

  /**
   * Changes a node's record: `change` gets the record as stored (undefined when there is none) and
   * returns the next one (undefined: no write); when anything was written to the bucket meanwhile
   * (another gateway's change of it included), the change is applied again to what is stored then.
   * This gateway's changes take turns. @returns the record written, or undefined.
   */
  async changeNode(hostId: string, change: (current: NodeRecord | undefined) => NodeRecord | undefined): Promise<NodeRecord | undefined> {
    let next: NodeRecord | undefined;
    await this.sequenced.inTurn(() =>
      this.sequenced.change(nodeKey(hostId), (entry) => {
        next = change(entry !== null && isLiveEntry(entry) ? (JSON.parse(new TextDecoder().decode(entry.value)) as NodeRecord) : undefined);
        return next === undefined ? undefined : { value: json(next) };
      }),
    );
    return next;
  }

  async deleteNode(hostId: string): Promise<void> {
    await (await this.bucket.open()).purge(nodeKey(hostId));
  }

  placements(): Promise<PlacementRecord[]> {
    return this.read<PlacementRecord>('placement');
  }

  putPlacement(placement: PlacementRecord): Promise<void> {
    return this.put(placementKey(placement.id), placement);
  }

  async deletePlacement(id: string): Promise<void> {
    await (await this.bucket.open()).purge(placementKey(id));
  }

  /**
   * Claims a container name for a create in progress (name-claims.ts; a claim older than
   * NAME_CLAIM_STALE_MS is taken over). @returns the call that gives it back, or undefined when
   * another create holds it.
   */
  claimName(name: string, by: string): Promise<(() => Promise<void>) | undefined> {
    return this.names.claim(name, by);
  }

  /** Opens (makes, the first time) the bucket of the name claims. */
  openNameClaims(): Promise<void> {
    return this.names.open();
  }

  overlayNetworks(): Promise<OverlayNetworkRecord[]> {
    return this.read<OverlayNetworkRecord>('overlay-network');
  }

  /**
   * Records a new overlay network: false when its VNI is taken (another gateway's create won). A
   * NATS failure is thrown (it is not a taken VNI).
   */
  async claimOverlayNetwork(record: OverlayNetworkRecord): Promise<boolean> {
    const written = await this.sequenced.inTurn(() =>
      this.sequenced.change(overlayKey(record.vni), (entry) => (entry !== null && isLiveEntry(entry) ? undefined : { value: json(record) })),
    );
    return written !== undefined;
  }

  putOverlayNetwork(record: OverlayNetworkRecord): Promise<void> {
    return this.put(overlayKey(record.vni), record);
  }

  async deleteOverlayNetwork(vni: number): Promise<void> {
    await (await this.bucket.open()).purge(overlayKey(vni));
  }
}
