import type { NatsConnection } from 'nats';
import { AgentAnnouncement } from '@berth/proto';
import { AnnouncementBucket } from './announcement-bucket.js';
import { HOSTS_BUCKET } from './subjects.js';

/** TTL of a host's entry: an agent that has not renewed it for this long is gone. */
export const HOST_TTL_MS = 15_000;

/**
 * The hosts of the platform: each runtime agent keeps its announcement in the KV bucket `hosts`
 * under its host id (renewed every HOST_TTL_MS / 3); the gateway reads it to find the agent of a host.
 */
export class HostRegistry extends AnnouncementBucket<AgentAnnouncement> {
  constructor(nc: NatsConnection) {
    super(nc, {
      bucket: HOSTS_BUCKET,
      ttlMs: HOST_TTL_MS,
      codec: AgentAnnouncement,
      key: (a) => a.hostId,
      noneMessage: 'No runtime agent is running: start the platform with `berth platform up`',
    });
  }
}
