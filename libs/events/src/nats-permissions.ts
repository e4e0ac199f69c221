import {
  BUILDERS_BUCKET,
  CLUSTER_BUCKET,
  COMPOSE_PROJECTS_BUCKET,
  LEASES_BUCKET,
  NAME_CLAIMS_BUCKET,
  NATS_MEMBERS_BUCKET,
  EVENTS_STREAM,
  EVENTS_SUBJECT_PREFIX,
  HOSTS_BUCKET,
  OVERLAY_BUCKET,
  REGISTRIES_BUCKET,
  RESERVATIONS_BUCKET,
  REVOCATIONS_BUCKET,
  kvStream,
  kvSubject,
  subjectToken,
} from './subjects.js';
import { revocationsGetSubject } from './revocation-record.js';

/**
 * Who a NATS connection is. Each platform service has its own NATS user (an nkey, see
 * libs/platform's platform-secrets.ts) whose permissions this module derives:
 *
 * | role      | may publish                                                  | may read                |
 * | --------- | ------------------------------------------------------------ | ----------------------- |
 * | gateway   | the JetStream API (reads events, hosts, registries, builders), | its inbox               |
 * |           | $KV.compose-projects.> (declared Compose projects),            |                         |
 * |           | $KV.cluster.> (nodes and placements, cluster-store.ts),      |                         |
 * |           | $KV.reservations.> (placements in progress, placement-ledger) |                        |
 * |           | $KV.name-claims.> (container names being created)            |                         |
 * |           | $KV.leases.> (the cluster duties' lease, lease-bucket.ts),   |                         |
 * |           | $KV.revocations.> (revocation-record.ts)                     |                         |
 * |           | $KV.nats-members.> (the NATS cluster's servers and users)    |                         |
 * | agent     | berth.events.<host>.>, $KV.hosts.<host>, $KV.overlay.> (and   | its inbox               |
 * |           | reading and watching the `overlay` bucket; reading and        |                         |
 * |           | watching, not writing, the `nats-members` bucket), a message  |                         |
 * |           | get of the `revocations` bucket (revocation-record.ts)        |                         |
 * | registry  | berth.events.<host>.image.>, $KV.registries.<host>.>          | its inbox               |
 * | builder   | berth.events.<host>.builder.>, $KV.builders.<host>, the      | its inbox               |
 * |           | message get of the `revocations` bucket                      |                         |
 * | join      | berth.cluster.join only (a host joining with a join token)     | its inbox               |
 *
 * The gateway also reads `berth.cluster.join` and answers on the join inbox (libs/platform
 * join-responder.ts, in the gateway and in the first host's `platform up` while JetStream waits for
 * its quorum). Every joining host shares the one `join` user (the token's key): what one may
 * read of another's answer, it would get by joining itself.
 *
 * Besides, the host services may look up (INFO) and create (CREATE, idempotent; never UPDATE or
 * DELETE) only the streams they write to. None but the gateway may read a KV bucket (but agents
 * the `overlay` bucket, the cluster's overlay endpoints, and agents and builders the `revocations` one) or consume
 * the event stream, so only the gateway learns agents' addresses; the gateway alone writes the
 * `compose-projects` bucket (the compose watcher reads it through the gateway's Compose service). Replies (JetStream acks, API
 * answers) reach a connection on its own inbox prefix (`inboxPrefix`), which nobody else may
 * subscribe to. Everything not listed is denied by nats-server.
 */
export type NatsRole = 'gateway' | 'agent' | 'registry' | 'builder' | 'join';

/** The subject a joining host asks the gateway on (`platform up --join`, libs/platform cluster-join.ts). */
export const CLUSTER_JOIN_SUBJECT = 'berth.cluster.join';

export interface NatsIdentity {
  role: NatsRole;
  /** The host id of the service's host (every role but the gateway and join). */
  host?: string;
}

export interface NatsPermissions {
  publish: string[];
  subscribe: string[];
}

/** The inbox prefix a connection of `identity` must use (nats.js `inboxPrefix`). */
export function inboxPrefix(identity: NatsIdentity): string {
  if (identity.role === 'gateway' || identity.role === 'join') return `_INBOX_${identity.role}`;
  return `_INBOX_${identity.role}_${subjectToken(identity.host ?? '')}`;
}

/** The nats-server permissions of `identity`. */
export function natsPermissions(identity: NatsIdentity): NatsPermissions {
  const subscribe = [`${inboxPrefix(identity)}.>`];
  if (identity.role === 'gateway') {
    return {
      publish: [
        '$JS.API.>',
        kvSubject(COMPOSE_PROJECTS_BUCKET, '>'),
        kvSubject(CLUSTER_BUCKET, '>'),
        kvSubject(RESERVATIONS_BUCKET, '>'),
        kvSubject(NAME_CLAIMS_BUCKET, '>'),
        kvSubject(LEASES_BUCKET, '>'),
        kvSubject(REVOCATIONS_BUCKET, '>'),
        kvSubject(NATS_MEMBERS_BUCKET, '>'),
        `${inboxPrefix({ role: 'join' })}.>`,
      ],
      subscribe: [...subscribe, CLUSTER_JOIN_SUBJECT],
    };
  }
  if (identity.role === 'join') return { publish: [CLUSTER_JOIN_SUBJECT], subscribe };
  if (!identity.host) throw new Error(`A NATS identity of role "${identity.role}" needs its host id`);
  const host = subjectToken(identity.host);
  const events = `${EVENTS_SUBJECT_PREFIX}.${host}`;
  const streams = (names: string[]) =>
    ['$JS.API.INFO', ...names.flatMap((s) => [`$JS.API.STREAM.INFO.${s}`, `$JS.API.STREAM.CREATE.${s}`])];
  switch (identity.role) {
    case 'agent':
      return {
        publish: [`${events}.>`, kvSubject(HOSTS_BUCKET, host), ...streams([EVENTS_STREAM, kvStream(HOSTS_BUCKET)]), kvSubject(OVERLAY_BUCKET, '>'), ...bucketReadAccess(OVERLAY_BUCKET), ...bucketReadAccess(NATS_MEMBERS_BUCKET), ...revocationsAccess()],
        subscribe,
      };
    case 'registry':
      return {
        publish: [`${events}.image.>`, `${kvSubject(REGISTRIES_BUCKET, host)}.>`, ...streams([EVENTS_STREAM, kvStream(REGISTRIES_BUCKET)])],
        subscribe,
      };
    case 'builder':
      // The images a build makes are registered (and their events published) by the agent.
      return {
        publish: [`${events}.builder.>`, kvSubject(BUILDERS_BUCKET, host), ...streams([EVENTS_STREAM, kvStream(BUILDERS_BUCKET)]), ...revocationsAccess()],
        subscribe,
      };
  }
}

/**
 * What an agent or builder needs to read the revocation list (revocation-record.ts): a message get
 * on the `revocations` bucket's stream (the whole bucket is that one key).
 */
function revocationsAccess(): string[] {
  return [revocationsGetSubject()];
}

/**
 * What an agent needs to read and watch a bucket (its entries are written elsewhere: the `overlay`
 * bucket's by any agent, through `$KV.overlay.>`; the `nats-members` bucket's by the gateway only):
 * the stream's info and creation, reading a key (direct and message get), and a watch (an ordered
 * consumer: create, delete, and its flow control replies).
 */
function bucketReadAccess(bucket: string): string[] {
  const stream = kvStream(bucket);
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.CREATE.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.DELETE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.>`,
    `$JS.FC.${stream}.>`,
  ];
}
