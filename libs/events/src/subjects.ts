/**
 * Every NATS subject, stream and bucket Berth uses, in one place.
 *
 *   berth.events.<source>.<type>.<action>  one event (proto berth.v1.Event), e.g.
 *                                   berth.events.5f0c…-host-id.container.start; <source> is the
 *                                   publishing host's id, so NATS permissions can confine a host's
 *                                   services to their own subjects (nats-permissions.ts)
 *   stream EVENTS                   JetStream stream over berth.events.> (the history `berth events --since` reads)
 *   KV bucket hosts                 key = host id, value = proto berth.v1.AgentAnnouncement, TTL'd heartbeat
 *                                   (NATS subject $KV.hosts.<host id>, stream KV_hosts)
 *   KV bucket registries            key = <host id>.<port>, value = proto berth.v1.RegistryAnnouncement, TTL'd heartbeat
 *                                   (NATS subject $KV.registries.<host id>.<port>, stream KV_registries)
 *   KV bucket builders              key = host id, value = proto berth.v1.BuilderAnnouncement, TTL'd heartbeat
 *                                   (NATS subject $KV.builders.<host id>, stream KV_builders)
 *   KV bucket compose-projects      key = project name, value = proto berth.v1.ProjectDeclaration (`compose up -d`), no TTL
 *                                   (NATS subject $KV.compose-projects.<project>, stream KV_compose-projects; the gateway's only)
 *   KV bucket cluster               node.<host id>, placement.<container id>,
 *                                   overlay-network.<vni> (JSON, cluster-store.ts), no TTL
 *                                   (NATS subject $KV.cluster.>, stream KV_cluster; the gateway's only)
 *   KV bucket reservations          reservation.<host id>: the placements in progress on that node (JSON,
 *                                   placement-ledger.ts), no TTL; written naming the stream's last sequence
 *                                   (NATS subject $KV.reservations.>, stream KV_reservations; the gateway's only)
 *   KV bucket name-claims           name.<base64url of a container name>: a create of that name in progress (JSON
 *                                   {by, at}, name-claims.ts), no TTL; written naming the stream's last sequence
 *                                   (NATS subject $KV.name-claims.>, stream KV_name-claims; the gateway's only)
 *   KV bucket leases                key = a duty's name (`cluster-duties`), value = JSON {holder, since}, TTL'd (max age):
 *                                   the gateway holding it does the cluster-wide duties (lease-bucket.ts; written
 *                                   naming the stream's last sequence, so it holds only leases;
 *                                   NATS subject $KV.leases.>, stream KV_leases; the gateway's only)
 *   KV bucket revocations           key `list`: the cluster CA's revoked certificates and CRL (JSON, revocation-record.ts),
 *                                   no TTL (NATS subject $KV.revocations.list, stream KV_revocations; written by the
 *                                   gateway, read by every agent and builder)
 *   KV bucket overlay               host.<host id> and ep.<network id>.<a-b-c-d> (JSON, overlay-endpoint-bucket.ts),
 *                                   TTL'd; every agent reads and writes it (NATS subject $KV.overlay.>, stream KV_overlay)
 *   KV bucket nats-members          key `members` = JSON: the NATS cluster's servers and users (libs/platform
 *                                   nats-membership.ts), written by the first host's gateway, read by the agents of
 *                                   token-joined hosts, which rewrite their nats-server's config from it
 *                                   (nats-members-bucket.ts; NATS subject $KV.nats-members.>, stream KV_nats-members)
 */
export const EVENTS_SUBJECT_PREFIX = 'berth.events';
export const EVENTS_STREAM = 'EVENTS';
export const HOSTS_BUCKET = 'hosts';
export const REGISTRIES_BUCKET = 'registries';
export const BUILDERS_BUCKET = 'builders';
export const COMPOSE_PROJECTS_BUCKET = 'compose-projects';
export const CLUSTER_BUCKET = 'cluster';
/**
 * The placements in progress of every gateway (placement-ledger.ts): a bucket of their own, as its
 * writes name the stream's last sequence, which a write of any other key would move.
 */
export const RESERVATIONS_BUCKET = 'reservations';
/** The container names being created through any gateway (name-claims.ts): a bucket of their own, likewise. */
export const NAME_CLAIMS_BUCKET = 'name-claims';
export const OVERLAY_BUCKET = 'overlay';
export const LEASES_BUCKET = 'leases';
export const REVOCATIONS_BUCKET = 'revocations';
export const NATS_MEMBERS_BUCKET = 'nats-members';

export type EventType = 'container' | 'image' | 'network' | 'volume' | 'builder';

/**
 * A text as one NATS subject token: tokens may not hold '.', whitespace or wildcards ('*', '>');
 * those become '_'. Empty text becomes `fallback`.
 */
export function subjectToken(text: string, fallback = 'unknown'): string {
  return text.replace(/[.*>\s]/g, '_') || fallback;
}

/** The subject an event of `source` (a host id) is published on. */
export function eventSubject(type: EventType | string, action: string, source = 'local'): string {
  // Docker actions like "exec_start: sh" or "health_status: healthy" keep only their first word in
  // the subject (the event keeps all of it).
  const token = subjectToken(action.split(/[:\s]/)[0]!);
  return `${EVENTS_SUBJECT_PREFIX}.${subjectToken(source, 'local')}.${subjectToken(type)}.${token}`;
}

/** The JetStream stream behind KV bucket `bucket`. */
export function kvStream(bucket: string): string {
  return `KV_${bucket}`;
}

/** The subject a put or delete of `key` in KV bucket `bucket` is published on. */
export function kvSubject(bucket: string, key: string): string {
  return `$KV.${bucket}.${key}`;
}
