import { DeliverPolicy, RetentionPolicy, StorageType, type JetStreamClient, type NatsConnection } from 'nats';
import { Event } from '@berth/proto';
import { EVENTS_STREAM, EVENTS_SUBJECT_PREFIX, eventSubject } from './subjects.js';
import { matchesFilters } from './event-filter.js';

export interface PublishOptions {
  type: string;
  action: string;
  id: string;
  attributes?: Record<string, string>;
}

export interface SubscribeOptions {
  /** Milliseconds since the epoch; replay from there. Undefined: only events from now on. */
  since?: number;
  /** Milliseconds since the epoch; the iteration ends there (waiting for it if it lies ahead). */
  until?: number;
  filters?: Array<{ key: string; value: string }>;
  signal?: AbortSignal;
}

/**
 * Publishes and reads back events. Every event is stored in the JetStream stream EVENTS (kept 7
 * days), so `berth events --since 10m` replays the past before following the present.
 */
export class EventBus {
  private readonly js: JetStreamClient;

  constructor(
    private readonly nc: NatsConnection,
    private readonly host = '',
  ) {
    this.js = nc.jetstream();
  }

  /** Creates the stream if needed (idempotent; every service calls it at start). */
  async ensureStream(): Promise<void> {
    const jsm = await this.nc.jetstreamManager();
    const config = {
      name: EVENTS_STREAM,
      subjects: [`${EVENTS_SUBJECT_PREFIX}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: 7 * 24 * 3600 * 1e9,
      max_msgs: 1_000_000,
    };
    try {
      await jsm.streams.info(EVENTS_STREAM);
    } catch {
      try {
        await jsm.streams.add(config);
      } catch (err) {
        // Another service created it meanwhile.
        if (!/already in use|exists/i.test(String(err))) throw err;
      }
    }
  }

  async publish(options: PublishOptions): Promise<Event> {
    const nowNs = BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6) % 1_000_000);
    const event: Event = {
      type: options.type,
      action: options.action,
      actor: { id: options.id, attributes: options.attributes ?? {} },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: nowNs.toString(),
      host: this.host,
    };
    await this.js.publish(eventSubject(options.type, options.action), Event.encode(event).finish());
    return event;
  }

  async *subscribe(options: SubscribeOptions = {}): AsyncGenerator<Event> {
    // "From now" is a start time too, taken before the consumer exists: an event published while
    // the consumer is being created is not lost.
    const { since = Date.now(), until, filters = [], signal } = options;
    const consumer = await this.js.consumers.get(EVENTS_STREAM, {
      filterSubjects: `${EVENTS_SUBJECT_PREFIX}.>`,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(since).toISOString(),
    });
    // An `until` already past is a pure replay: it ends once the stream has been read up to the
    // present (or past `until`), not by a timer, which would fire before the first delivery.
    const replayOnly = until !== undefined && until <= Date.now();
    if (replayOnly && (await consumer.info()).num_pending === 0) return;
    const messages = await consumer.consume();
    const stop = () => void messages.close();
    signal?.addEventListener('abort', stop, { once: true });
    const timer = until !== undefined && !replayOnly ? setTimeout(stop, until - Date.now()) : undefined;
    try {
      for await (const msg of messages) {
        const event = Event.decode(msg.data);
        if (until !== undefined && Number(BigInt(event.timeNano) / 1_000_000n) > until) break;
        if (matchesFilters(event, filters)) yield event;
        if (replayOnly && msg.info.pending === 0) break;
      }
    } finally {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      await messages.close();
    }
  }
}
