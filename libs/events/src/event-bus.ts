import { randomUUID } from 'node:crypto';
import { ConsumerEvents, DeliverPolicy, type Consumer, RetentionPolicy, StorageType, type JetStreamClient, type NatsConnection } from 'nats';
import { UnavailableError } from '@berth/errors';
import { Event } from '@berth/proto';
import { EVENTS_STREAM, EVENTS_SUBJECT_PREFIX, eventSubject } from './subjects.js';
import { EventFilter } from './event-filter.js';
import { withDeadline } from './deadline.js';
import type { Logger } from '@berth/log';
import { streamReplicas } from './stream-replicas.js';

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

export interface EventBusOptions {
  /** Where `emit` reports that it buffers or drops events (one line per outage). */
  log?: Logger;
  /** How many events `emit` keeps while NATS is unreachable; the oldest go first. Default 10,000. */
  maxBuffered?: number;
  /** How long one NATS request (publish ack, consumer setup) may take. Default 5 s. */
  requestTimeoutMs?: number;
}

/**
 * Publishes and reads back events. Every event is stored in the JetStream stream EVENTS (kept 7
 * days), so `berth events --since 10m` replays the past before following the present.
 *
 * Events of host `host` go on `berth.events.<host>.<type>.<action>` (the only subjects the host's
 * services may publish on). NATS being down never blocks nor fails a caller of `emit`: events wait
 * in memory (up to `maxBuffered`) and go out in order when NATS is back; a reader gets a clear
 * UnavailableError within `requestTimeoutMs` instead of waiting forever.
 */
export class EventBus {
  private readonly js: JetStreamClient;
  private readonly buffered: Array<{ event: Event; id: string }> = [];
  private draining = false;
  private connected = true;
  private dropped = 0;
  private outage = false;
  private wake?: () => void;

  constructor(
    private readonly nc: NatsConnection,
    private readonly host = '',
    private readonly options: EventBusOptions = {},
  ) {
    this.js = nc.jetstream({ timeout: options.requestTimeoutMs ?? 5_000 });
    void this.watchConnection();
  }

  private get timeoutMs(): number {
    return this.options.requestTimeoutMs ?? 5_000;
  }

  private async watchConnection(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') this.connected = false;
      if (s.type === 'reconnect') {
        this.connected = true;
        this.wake?.();
      }
    }
  }

  /** Creates the stream if needed (idempotent; every service calls it at start). */
  async ensureStream(): Promise<void> {
    const jsm = await this.nc.jetstreamManager({ timeout: this.timeoutMs });
    const config = {
      name: EVENTS_STREAM,
      subjects: [`${EVENTS_SUBJECT_PREFIX}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: 7 * 24 * 3600 * 1e9,
      max_msgs: 1_000_000,
      num_replicas: streamReplicas(this.nc),
    };
    try {
      await jsm.streams.info(EVENTS_STREAM);
    } catch {
      try {
        await jsm.streams.add(config);
      } catch (err) {
        // Another service created it meanwhile: nats-server answers a create that raced another
        // "already in use", or "subjects overlap with an existing stream" (the other's). Either
        // way, the stream is there now.
        if (!(await jsm.streams.info(EVENTS_STREAM).then(() => true, () => false))) throw err;
      }
    }
  }

  /** Publishes one event and waits for JetStream to store it; rejects when NATS does not answer in time. */
  async publish(options: PublishOptions): Promise<Event> {
    const event = this.event(options);
    await this.send(event, randomUUID());
    return event;
  }

  /**
   * Publishes one event in the background, never throwing nor waiting: while NATS is unreachable
   * the event is kept in memory and sent, in order, once it is back (JetStream drops a duplicate
   * of a retried event by its id).
   */
  emit(options: PublishOptions): Event {
    const event = this.event(options);
    this.buffered.push({ event, id: randomUUID() });
    if (this.buffered.length > (this.options.maxBuffered ?? 10_000)) {
      this.buffered.shift();
      if (this.dropped++ === 0) this.options.log?.warn({ buffered: this.buffered.length }, 'Too many events waiting for NATS: dropping the oldest');
      this.outage = true;
    }
    void this.drain();
    return event;
  }

  /** Events `emit` still holds (waiting for NATS). */
  get pending(): number {
    return this.buffered.length;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.buffered.length > 0 && !this.nc.isClosed()) {
        if (!this.connected) {
          this.outage = true;
          await this.pause(5_000);
          continue;
        }
        try {
          const { event, id } = this.buffered[0]!;
          await this.send(event, id);
          this.buffered.shift();
          if (this.outage) {
            this.options.log?.info({ dropped: this.dropped }, 'Events are published again');
            this.outage = false;
            this.dropped = 0;
          }
        } catch (err) {
          if (!this.outage) this.options.log?.warn({ err }, 'Cannot publish events, keeping them until NATS answers');
          this.outage = true;
          await this.pause(1_000);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private event(options: PublishOptions): Event {
    const nowNs = BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6) % 1_000_000);
    return {
      type: options.type,
      action: options.action,
      actor: { id: options.id, attributes: options.attributes ?? {} },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: nowNs.toString(),
      host: this.host,
    };
  }

  /** `id` is the message id JetStream de-duplicates by (a retried send is stored once). */
  private async send(event: Event, id: string): Promise<void> {
    await this.js.publish(eventSubject(event.type, event.action, this.host), Event.encode(event).finish(), { msgID: id, timeout: this.timeoutMs });
  }

  /**
   * Runs `op`; when `retry`, again every second for 30 s while it fails (a consumer being made
   * again while the NATS cluster elects new leaders).
   */
  private async retrying<T>(retry: boolean, op: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await op();
      } catch (err) {
        if (!retry || Date.now() > deadline || this.nc.isClosed()) throw err;
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  /**
   * Whether a replay that stopped receiving has in fact read everything: its consumer has nothing
   * pending and delivered nothing past what was read. Full runs saw replays wait out their deadline
   * in that state (the last delivery's own count of what follows it was not 0, or the ordered
   * consumer was made again past the end): the history is complete, so the replay ends.
   */
  private async readToTheEnd(consumer: Consumer, next: number | undefined): Promise<boolean> {
    try {
      const info = await withDeadline(consumer.info(), 2_000, () => new Error('no consumer info within 2 s'));
      const complete = info.num_pending === 0 && info.num_ack_pending === 0 && (next === undefined ? info.delivered.stream_seq === 0 : info.delivered.stream_seq < next);
      if (complete) this.options.log?.info({ next, delivered: info.delivered.stream_seq }, 'An event replay ended by its consumer\'s count: nothing pending, everything delivered was read');
      return complete;
    } catch {
      return false; // the consumer does not answer: a real stall, reported as such
    }
  }

  /** What the consumer of a stalled replay says of itself, for the error (never fails). */
  private async consumerState(consumer: Consumer, next: number | undefined): Promise<string> {
    try {
      const info = await withDeadline(consumer.info(), 2_000, () => new Error('no consumer info within 2 s'));
      return `next stream sequence ${next ?? 'none yet'}; the consumer has delivered up to ${info.delivered.stream_seq}, ${info.num_pending} pending, ${info.num_waiting} pulls waiting`;
    } catch (err) {
      return (err as Error).message;
    }
  }

  async *subscribe(options: SubscribeOptions = {}): AsyncGenerator<Event> {
    // "From now" is a start time too, taken before the consumer exists: an event published while
    // the consumer is being created is not lost.
    const { since = Date.now(), until, filters = [], signal } = options;
    // Bad filters are refused before anything is read, as Docker's API does.
    const filter = EventFilter.of(filters);
    if (!this.connected || this.nc.isClosed()) throw unreachable('the connection to NATS is down');
    const replayOnly = until !== undefined && until <= Date.now();
    // The stream sequence to resume from when the consumer is lost (see `lost` below).
    let next: number | undefined;
    for (let resumes = 0; ; resumes++) {
      // Made and started within the deadline, again while that fails when resuming: a consumer
      // made while JetStream still counts a dead nats-server among the stream's peers may be placed
      // there, and then nats.js's consume() waits for it until that server is back (a live stream
      // resumed after its gateway's own nats-server was killed stayed silent for good, in 2 of 3
      // such kills in a loopback cluster). Another ordered consumer gets another placement.
      const { consumer, messages } = await this.retrying(resumes > 0, async () => {
        const made = await withDeadline(
          (async () => {
            const consumer = await this.js.consumers.get(EVENTS_STREAM, {
              filterSubjects: `${EVENTS_SUBJECT_PREFIX}.>`,
              ...(next === undefined
                ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(since).toISOString() }
                : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: next }),
            });
            // An `until` already past is a pure replay: it ends once the stream has been read up to the
            // present (or past `until`), not by a timer, which would fire before the first delivery.
            return { consumer, pending: replayOnly ? (await consumer.info()).num_pending : -1 };
          })(),
          this.timeoutMs,
          () => unreachable(`no answer within ${this.timeoutMs / 1000} s`),
        );
        if (replayOnly && made.pending === 0) return { ...made, messages: undefined };
        // Pulls expiring every 5 s (heartbeats every 2.5 s) instead of nats.js's 30 s: a consumer
        // whose server died (one nats-server of a cluster) is noticed within seconds.
        const consuming = made.consumer.consume({ max_messages: 100, expires: 5_000 });
        try {
          return { ...made, messages: await withDeadline(consuming, this.timeoutMs, () => unreachable(`the event consumer did not start within ${this.timeoutMs / 1000} s`)) };
        } catch (err) {
          void consuming.then((late) => late.close(), () => undefined); // abandoned: stopped once it starts, if ever
          throw err;
        }
      });
      if (messages === undefined) return;
      const stop = () => void messages.close();
      signal?.addEventListener('abort', stop, { once: true });
      const timer = until !== undefined && !replayOnly ? setTimeout(stop, until - Date.now()) : undefined;
      // A live stream whose consumer went silent (its heartbeats missed twice: the ephemeral,
      // unreplicated consumer lived on a nats-server that died, which nats.js would only notice once
      // the consumer's inactivity threshold removes it, minutes later) is made again on a live
      // server, from the event after the last one delivered.
      // The same when this connection came back (its own server died): nats.js then waits for the
      // consumer's info, which a dead server never gives, so it is asked here with a deadline.
      let lost = false;
      const markLost = () => {
        lost = true;
        stop();
      };
      const connection = this.nc.status();
      if (!replayOnly) {
        void (async () => {
          for await (const s of await messages.status()) if (s.type === ConsumerEvents.HeartbeatsMissed) markLost();
        })();
        void (async () => {
          for await (const s of connection) {
            if (s.type === 'reconnect') void withDeadline(consumer.info(), 3_000, () => unreachable('no consumer info')).catch(markLost);
          }
        })();
      }
      // And a consumer that answers but delivers nothing while events wait for it (seen after a
      // nats-server was killed: the pulls of this connection no longer reached it, no heartbeat was
      // reported missed, and a live `berth events` stayed silent): asked every 5 s, it is made again
      // when it is gone, does not answer, or had events pending twice in a row with none arriving.
      // Or events it delivered that never arrived: a delivery to this connection while it moved to
      // another server is lost (core NATS), and the consumer (no acks) counts it delivered, so
      // nothing is pending and nats.js sees no gap until another event comes (a loopback cluster
      // lost a live stream so when the gateway's own server was killed; test/nats-cluster's "flow
      // again" failed the same way whatever the ports: b175fcd's 2 of 2, and once without it).
      let delivered = next;
      let stuck = 0;
      // The consumer's sequence of the last event that arrived (nats.js's ordered consumer starts a
      // new consumer, from 1, when it resets: then this is at most too high, never too low).
      let lastDelivery = 0;
      const progress = replayOnly
        ? undefined
        : setInterval(() => {
            void withDeadline(consumer.info(), 3_000, () => unreachable('no consumer info')).then(
              (info) => {
                const undelivered = info.num_pending > 0 || info.delivered.consumer_seq > lastDelivery;
                stuck = undelivered && next === delivered ? stuck + 1 : 0;
                delivered = next;
                if (stuck >= 2) markLost();
              },
              markLost,
            );
          }, 5_000);
      // A replay that stops receiving (NATS went away under it) ends with an error, not a hang.
      let stalled = false;
      let watchdog: NodeJS.Timeout | undefined;
      const arm = () => {
        if (!replayOnly) return;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => ((stalled = true), stop()), this.timeoutMs);
      };
      arm();
      let done = false;
      try {
        for await (const msg of messages) {
          // The watchdog times NATS, not the reader: it is off while the event is with the caller.
          clearTimeout(watchdog);
          next = msg.seq + 1;
          lastDelivery = msg.info.deliverySequence;
          const event = Event.decode(msg.data);
          if (until !== undefined && Number(BigInt(event.timeNano) / 1_000_000n) > until) {
            done = true;
            break;
          }
          if (filter.includes(event)) yield event;
          if (replayOnly && msg.info.pending === 0) {
            done = true;
            break;
          }
          arm();
        }
      } finally {
        clearTimeout(watchdog);
        clearInterval(progress);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', stop);
        (connection as { stop?: () => void }).stop?.();
        await messages.close();
      }
      if (stalled) {
        if (await this.readToTheEnd(consumer, next)) return;
        throw unreachable(`the event history stopped arriving for ${this.timeoutMs / 1000} s (${await this.consumerState(consumer, next)})`);
      }
      if (done || !lost || signal?.aborted || this.nc.isClosed()) return;
      this.options.log?.info({ next }, 'Lost the event stream consumer (its nats-server died?): resuming on another server');
    }
  }
}

function unreachable(why: string): UnavailableError {
  return new UnavailableError(`Cannot read events: the platform's event bus (NATS) is not reachable: ${why}`);
}
