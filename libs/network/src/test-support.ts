import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError } from '@berth/errors';
import { openMetadataDb, type MetadataDb } from '@berth/metadata';
import { udpRequest } from '@berth/testing';
import { buildQuery, readAnswers } from './dns-message.js';
import { deleteLink, deleteNetns, listLinks, listNetns } from './host-links.js';
import { removeRules } from './nat-rules.js';
import { NetworkManager } from './network-manager.js';
import type { ContainerLookup, NetworkManagerOptions } from './network-options.js';

/** Tests' DNS client: one A query for `name` to `server`:53 over UDP, its answers (3 s timeout). */
export async function dnsAsk(server: string, name: string): Promise<ReturnType<typeof readAnswers>> {
  return readAnswers(await udpRequest(server, 53, buildQuery(1, name)));
}

/**
 * What a NetworkManager test works in on the real kernel (root): a random tag that the links,
 * namespaces and NAT chains it makes carry, a metadata db in a temporary directory, and a container
 * lookup that knows what the test tells it. `cleanUp()` (afterEach) closes the managers opened with
 * `open()` and removes whatever carries the tag, also what a failed test left.
 */
export class NetworkTestBed {
  readonly tag = randomBytes(4).toString('hex');
  readonly dir: string;
  readonly db: MetadataDb;
  /** The containers the lookup knows (id → name). */
  readonly known = new Map<string, string>();
  readonly lookup: ContainerLookup = {
    get: (idOrName) => {
      for (const [id, name] of this.known) {
        if (id === idOrName || name === idOrName) return { id, name, running: true, pid: 0, hostsPath: '', resolvConfPath: '' };
      }
      throw new NotFoundError(`No such container: ${idOrName}`);
    },
  };
  /** The managers `cleanUp()` closes (a test that lets one "crash" takes it out). */
  readonly managers: NetworkManager[] = [];

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.db = openMetadataDb(join(this.dir, 'metadata.db'));
  }

  /** A NetworkManager on this bed's db, tag and lookup. */
  async open(options: Omit<NetworkManagerOptions, 'db' | 'tag' | 'containers'>): Promise<NetworkManager> {
    const m = await NetworkManager.open({ db: this.db, tag: this.tag, containers: this.lookup, ...options });
    this.managers.push(m);
    return m;
  }

  /** A new container id that the lookup knows as `name`. */
  container(name: string): string {
    const id = randomBytes(32).toString('hex');
    this.known.set(id, name);
    return id;
  }

  /** The host's links that carry this bed's tag. */
  async links(): Promise<string[]> {
    return (await listLinks()).filter((l) => l.alias.startsWith(`berth:${this.tag}`)).map((l) => l.name);
  }

  async cleanUp(): Promise<void> {
    for (const m of this.managers.splice(0)) await m.close().catch(() => {}); // closed by the test already
    for (const name of await this.links()) await deleteLink(name);
    for (const ns of listNetns().filter((n) => n.startsWith(`berth-${this.tag}-`))) await deleteNetns(ns);
    await removeRules(this.tag);
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
