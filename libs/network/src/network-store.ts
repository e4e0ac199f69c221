import type { MetadataDb } from '@berth/metadata';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from './types.js';

/**
 * The network tables of the metadata database (migration in @berth/metadata):
 *
 *   networks   id, name (unique), created, record (NetworkRecord JSON)
 *   endpoints  (network_id, container_id) key, ip (the address held while the container runs,
 *              unique per network, NULL when stopped), record (EndpointRecord JSON)
 *   sandboxes  container_id key, record (SandboxRecord JSON)
 */
export class NetworkStore {
  constructor(private readonly db: MetadataDb) {}

  networks(): NetworkRecord[] {
    return this.records<NetworkRecord>('SELECT record FROM networks ORDER BY created, name');
  }

  network(id: string): NetworkRecord | undefined {
    return this.record<NetworkRecord>('SELECT record FROM networks WHERE id = ?', id);
  }

  networkByName(name: string): NetworkRecord | undefined {
    return this.record<NetworkRecord>('SELECT record FROM networks WHERE name = ?', name);
  }

  networkIdsByPrefix(prefix: string): string[] {
    const rows = this.db.prepare("SELECT id FROM networks WHERE id LIKE ? || '%'").all(prefix) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  insertNetwork(n: NetworkRecord): void {
    this.db.prepare('INSERT INTO networks (id, name, created, record) VALUES (?, ?, ?, ?)').run(n.Id, n.Name, n.Created, JSON.stringify(n));
  }

  updateNetwork(n: NetworkRecord): void {
    this.db.prepare('UPDATE networks SET name = ?, record = ? WHERE id = ?').run(n.Name, JSON.stringify(n), n.Id);
  }

  deleteNetwork(id: string): void {
    this.db.prepare('DELETE FROM networks WHERE id = ?').run(id);
  }

  endpoints(filter: { networkId?: string; containerId?: string } = {}): EndpointRecord[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.networkId) (where.push('network_id = ?'), args.push(filter.networkId));
    if (filter.containerId) (where.push('container_id = ?'), args.push(filter.containerId));
    const sql = `SELECT record FROM endpoints${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
    return this.records<EndpointRecord>(sql, ...args).sort((a, b) => a.Order - b.Order);
  }

  endpoint(networkId: string, containerId: string): EndpointRecord | undefined {
    return this.record<EndpointRecord>('SELECT record FROM endpoints WHERE network_id = ? AND container_id = ?', networkId, containerId);
  }

  /** Addresses held on a network (by running containers). */
  usedAddresses(networkId: string): Set<string> {
    const rows = this.db.prepare('SELECT ip FROM endpoints WHERE network_id = ? AND ip IS NOT NULL').all(networkId) as Array<{ ip: string }>;
    return new Set(rows.map((r) => r.ip));
  }

  /** Inserts or replaces an endpoint; its `ip` column follows IPAddress (NULL when empty). */
  putEndpoint(e: EndpointRecord): void {
    this.db
      .prepare('INSERT OR REPLACE INTO endpoints (network_id, container_id, ip, record) VALUES (?, ?, ?, ?)')
      .run(e.NetworkID, e.ContainerID, e.IPAddress || null, JSON.stringify(e));
  }

  deleteEndpoint(networkId: string, containerId: string): void {
    this.db.prepare('DELETE FROM endpoints WHERE network_id = ? AND container_id = ?').run(networkId, containerId);
  }

  sandboxes(): SandboxRecord[] {
    return this.records<SandboxRecord>('SELECT record FROM sandboxes');
  }

  sandbox(containerId: string): SandboxRecord | undefined {
    return this.record<SandboxRecord>('SELECT record FROM sandboxes WHERE container_id = ?', containerId);
  }

  putSandbox(s: SandboxRecord): void {
    this.db.prepare('INSERT OR REPLACE INTO sandboxes (container_id, record) VALUES (?, ?)').run(s.ContainerID, JSON.stringify(s));
  }

  /** The JSON records (`record` column) the query selects. */
  private records<T>(sql: string, ...params: string[]): T[] {
    const rows = this.db.prepare(sql).all(...params) as Array<{ record: string }>;
    return rows.map((r) => JSON.parse(r.record) as T);
  }

  /** The JSON record (`record` column) of the row the query selects, if any. */
  private record<T>(sql: string, ...params: string[]): T | undefined {
    const row = this.db.prepare(sql).get(...params) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as T) : undefined;
  }

  /** Removes a container's sandbox and all its endpoints. */
  deleteContainer(containerId: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM endpoints WHERE container_id = ?').run(containerId);
      this.db.prepare('DELETE FROM sandboxes WHERE container_id = ?').run(containerId);
    })();
  }
}
