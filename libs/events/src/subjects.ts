/**
 * Every NATS subject, stream and bucket Berth uses, in one place.
 *
 *   berth.events.<type>.<action>   one event (proto berth.v1.Event), e.g. berth.events.container.start
 *   stream EVENTS                  JetStream stream over berth.events.> (the history `berth events --since` reads)
 *   KV bucket hosts                key = host id, value = proto berth.v1.AgentAnnouncement, TTL'd heartbeat
 *   KV bucket registries           key = registry id, value = proto berth.v1.RegistryAnnouncement, TTL'd heartbeat
 *   KV bucket compose-projects     key = project name, value = proto berth.v1.ProjectDeclaration (`compose up -d`)
 */
export const EVENTS_SUBJECT_PREFIX = 'berth.events';
export const EVENTS_STREAM = 'EVENTS';
export const HOSTS_BUCKET = 'hosts';
export const REGISTRIES_BUCKET = 'registries';
export const COMPOSE_PROJECTS_BUCKET = 'compose-projects';

export type EventType = 'container' | 'image' | 'network' | 'volume' | 'builder';

export function eventSubject(type: EventType | string, action: string): string {
  // NATS tokens may not hold '.', ' ' or wildcards; Docker actions like "exec_start: sh" or
  // "health_status: healthy" keep only their first word in the subject (the event keeps all of it).
  const token = action.split(/[:\s]/)[0]!.replace(/[.*>]/g, '_') || 'unknown';
  return `${EVENTS_SUBJECT_PREFIX}.${type}.${token}`;
}
