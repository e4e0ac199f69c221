import type { KvEntry, NatsConnection } from 'nats';
import { ConflictError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import { ProjectDeclaration } from '@berth/proto';
import { COMPOSE_PROJECTS_BUCKET } from './subjects.js';
import { PlatformBucket } from './platform-bucket.js';
import { isLiveEntry } from './kv-entries.js';
import { SequencedBucket } from './sequenced-bucket.js';

/** A project name as Compose allows it (lowercase letters, digits, `-`, `_`), also a valid KV key. */
const validName = /^[a-z0-9][a-z0-9_-]*$/;

export interface ProjectChangeEntry {
  operation: 'put' | 'delete';
  name: string;
  declaration?: ProjectDeclaration;
}

/**
 * The declared Compose projects, in the KV bucket `compose-projects` (one key per project name,
 * no TTL, last value only). The gateway serves it to clients (`compose up -d` puts, `down`
 * deletes); the compose watcher reads and watches it to keep projects as declared.
 */
export class ComposeProjectStore {
  private readonly bucket: PlatformBucket;
  private readonly sequenced: SequencedBucket;

  constructor(nc: NatsConnection) {
    this.bucket = new PlatformBucket(nc, COMPOSE_PROJECTS_BUCKET);
    this.sequenced = new SequencedBucket(nc, COMPOSE_PROJECTS_BUCKET);
  }

  private static check(name: string): void {
    if (!validName.test(name)) throw new InvalidArgumentError(`invalid project name "${name}": must consist only of lowercase alphanumeric characters, hyphens and underscores, starting with a letter or digit`);
  }

  private static decode(entry: KvEntry): ProjectDeclaration {
    return { ...ProjectDeclaration.decode(entry.value), revision: entry.revision };
  }

  /**
   * Stores a declaration. With `expectedRevision`, only over that revision (0: only when there is
   * none); ConflictError otherwise. @returns it with its new revision.
   *
   * The expected revision is checked by reading the project and writing naming the bucket's last
   * sequence (sequenced-bucket.ts), one at a time per process, not by `kv.update`: nats-server before
   * 2.9.21 let two updates of one key naming one revision both through a clustered stream
   * (nats-io/nats-server#4320), so two `compose up -d` of one project through two gateways could
   * both pass and one be lost.
   */
  async put(declaration: ProjectDeclaration, expectedRevision?: number): Promise<ProjectDeclaration> {
    ComposeProjectStore.check(declaration.name);
    const value: ProjectDeclaration = { ...declaration, revision: 0, updatedAt: new Date().toISOString() };
    const bytes = ProjectDeclaration.encode(value).finish();
    if (expectedRevision === undefined) return { ...value, revision: await (await this.bucket.open()).put(declaration.name, bytes) };
    let found = expectedRevision;
    const revision = await this.sequenced.inTurn(() =>
      this.sequenced.change(declaration.name, (entry) => {
        found = entry !== null && isLiveEntry(entry) ? entry.revision : 0;
        return found === expectedRevision ? { value: bytes } : undefined;
      }),
    );
    if (revision === undefined) throw new ConflictError(`project "${declaration.name}" was changed meanwhile (expected revision ${expectedRevision}, found ${found})`);
    return { ...value, revision };
  }

  async get(name: string): Promise<ProjectDeclaration> {
    ComposeProjectStore.check(name);
    const entry = await (await this.bucket.open()).get(name);
    if (!entry || !isLiveEntry(entry)) throw new NotFoundError(`no declared project "${name}"`);
    return ComposeProjectStore.decode(entry);
  }

  async list(): Promise<ProjectDeclaration[]> {
    return (await this.bucket.entries()).map((entry) => ComposeProjectStore.decode(entry));
  }

  async delete(name: string): Promise<void> {
    ComposeProjectStore.check(name);
    await (await this.bucket.open()).delete(name);
  }

  /** The current declarations, then every change, until `signal` aborts. */
  async *watch(signal?: AbortSignal): AsyncGenerator<ProjectChangeEntry> {
    const kv = await this.bucket.open();
    const iterator = await kv.watch();
    const stop = () => iterator.stop();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const entry of iterator) {
        if (isLiveEntry(entry)) yield { operation: 'put', name: entry.key, declaration: ComposeProjectStore.decode(entry) };
        else yield { operation: 'delete', name: entry.key };
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      iterator.stop();
    }
  }
}
