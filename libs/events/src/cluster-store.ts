import type { KV, NatsConnection } from 'nats';
import { CLUSTER_BUCKET } from './subjects.js';
import { streamReplicas } from './stream-replicas.js';
import { liveEntries } from './kv-entries.js';

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

/**
 * The cluster's state that outlives any one process, in the KV bucket `cluster` (no TTL, written by
 * the gateway only; several gateways share it):
 *
 *   node.<hostId>          NodeRecord (JSON)       availability, label changes, status, last seen
 *   placement.<containerId> PlacementRecord (JSON)  which host runs a container, and how to recreate it
 *   overlay-network.<vni>   OverlayNetworkRecord (JSON)  an overlay network, created on every host
 */
export class ClusterStore {
  private kv?: KV;

  constructor(private readonly nc: NatsConnection) {}

  private async bucket(): Promise<KV> {
    this.kv ??= await this.nc.jetstream().views.kv(CLUSTER_BUCKET, { history: 1, replicas: streamReplicas(this.nc) });
    return this.kv;
  }

  private async read<T>(prefix: string): Promise<T[]> {
    const entries = await liveEntries(await this.bucket(), `${prefix}.>`);
    return entries.map((entry) => JSON.parse(new TextDecoder().decode(entry.value)) as T);
  }

  private async put(key: string, value: unknown): Promise<void> {
    await (await this.bucket()).put(key, new TextEncoder().encode(JSON.stringify(value)));
  }

  nodes(): Promise<NodeRecord[]> {
    return this.read<NodeRecord>('node');
  }

  putNode(node: NodeRecord): Promise<void> {
    return this.put(nodeKey(node.hostId), node);
  }

  async deleteNode(hostId: string): Promise<void> {
    await (await this.bucket()).purge(nodeKey(hostId));
  }

  placements(): Promise<PlacementRecord[]> {
    return this.read<PlacementRecord>('placement');
  }

  putPlacement(placement: PlacementRecord): Promise<void> {
    return this.put(placementKey(placement.id), placement);
  }

  async deletePlacement(id: string): Promise<void> {
    await (await this.bucket()).purge(placementKey(id));
  }

  overlayNetworks(): Promise<OverlayNetworkRecord[]> {
    return this.read<OverlayNetworkRecord>('overlay-network');
  }

  /** Records a new overlay network: false when its VNI is taken (another gateway's create won). */
  async claimOverlayNetwork(record: OverlayNetworkRecord): Promise<boolean> {
    try {
      await (await this.bucket()).create(overlayKey(record.vni), new TextEncoder().encode(JSON.stringify(record)));
      return true;
    } catch {
      return false; // the key exists: that VNI is taken
    }
  }

  putOverlayNetwork(record: OverlayNetworkRecord): Promise<void> {
    return this.put(overlayKey(record.vni), record);
  }

  async deleteOverlayNetwork(vni: number): Promise<void> {
    await (await this.bucket()).purge(overlayKey(vni));
  }
}
