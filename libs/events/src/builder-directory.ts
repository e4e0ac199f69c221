import type { NatsConnection } from 'nats';
import { BuilderAnnouncement } from '@berth/proto';
import { AnnouncementBucket } from './announcement-bucket.js';
import { BUILDERS_BUCKET } from './subjects.js';

/** TTL of a builder's entry: a builder that has not renewed it for this long is gone. */
export const BUILDER_TTL_MS = 15_000;

/**
 * The image builders of the platform, one per host: each keeps its announcement (gRPC address) in
 * the KV bucket `builders` under its host's id, renewed every BUILDER_TTL_MS / 3; the gateway reads
 * it to forward a build to the builder of the host it picked.
 */
export class BuilderDirectory extends AnnouncementBucket<BuilderAnnouncement> {
  constructor(nc: NatsConnection) {
    super(nc, {
      bucket: BUILDERS_BUCKET,
      ttlMs: BUILDER_TTL_MS,
      codec: BuilderAnnouncement,
      key: (a) => a.hostId,
      noneMessage: 'No image builder is running: start the platform with `berth platform up`',
    });
  }
}
