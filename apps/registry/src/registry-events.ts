import type { EventBus } from '@berth/events';

/**
 * One change of a repository's manifests, reported after it is stored:
 * - `push`: a manifest was stored (PUT), tagged `tag` when it was pushed by tag (or `?tag=`);
 * - `delete`: a tag was removed (`tag` set), or a manifest by digest together with its `tags`.
 */
export type RegistryEvent =
  | { action: 'push'; repository: string; digest: string; mediaType: string; tags: string[] }
  | { action: 'delete'; repository: string; digest: string; tag?: string; tags: string[] };

/**
 * Where the HTTP handlers report changes. `notify` must not throw nor block the request: an
 * implementation queues the event and reports delivery failures itself.
 */
export interface RegistryEventSink {
  notify(event: RegistryEvent): void;
}

/**
 * Publishes registry changes as Berth events on NATS (Docker's `image` events):
 *
 *   image.push    id/name `<repo>:<tag>` (one event per tag; `<repo>@<digest>` when pushed by digest),
 *                 attributes name, digest, repository, mediaType
 *   image.delete  id/name `<repo>:<tag>` for a tag, `<repo>@<digest>` for a manifest (attribute tags:
 *                 the tags removed with it, comma-separated), attributes name, digest, repository
 *
 * Publishing runs in the background; `flush()` waits for what is in flight (call it before closing
 * the NATS connection). A failed publish is passed to `onError` and otherwise dropped: the
 * registry keeps serving when NATS is down.
 */
export class NatsEventSink implements RegistryEventSink {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly bus: EventBus,
    private readonly onError: (err: unknown, event: RegistryEvent) => void = () => {},
  ) {}

  notify(event: RegistryEvent): void {
    for (const message of toMessages(event)) {
      const p = this.bus.publish(message).catch((err: unknown) => this.onError(err, event));
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    }
  }

  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}

function toMessages(event: RegistryEvent): Array<{ type: string; action: string; id: string; attributes: Record<string, string> }> {
  const { repository, digest } = event;
  const base = { repository, digest };
  if (event.action === 'push') {
    const names = event.tags.length > 0 ? event.tags.map((t) => `${repository}:${t}`) : [`${repository}@${digest}`];
    return names.map((name) => ({ type: 'image', action: 'push', id: name, attributes: { name, ...base, mediaType: event.mediaType } }));
  }
  if (event.tag !== undefined) {
    const name = `${repository}:${event.tag}`;
    return [{ type: 'image', action: 'delete', id: name, attributes: { name, ...base } }];
  }
  const name = `${repository}@${digest}`;
  return [{ type: 'image', action: 'delete', id: name, attributes: { name, ...base, tags: event.tags.join(',') } }];
}
