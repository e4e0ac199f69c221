import type { NatsConnection } from 'nats';
import { RegistryAnnouncement } from '@berth/proto';
import { AnnouncementBucket } from './announcement-bucket.js';
import { REGISTRIES_BUCKET } from './subjects.js';

/** TTL of a registry's entry: a registry that has not renewed it for this long is gone. */
export const REGISTRY_TTL_MS = 15_000;

/**
 * The registries of the platform: each registry process keeps its announcement (HTTP URL, admin
 * gRPC address) in the KV bucket `registries` under its id (`<host id>.<port>`), renewed every
 * REGISTRY_TTL_MS / 3 by `keepAnnounced`; the gateway reads it to forward the Registry service,
 * clients to find the registry's URL. `first` returns only registries with an admin address.
 */
export class RegistryDirectory extends AnnouncementBucket<RegistryAnnouncement> {
  constructor(nc: NatsConnection) {
    super(nc, {
      bucket: REGISTRIES_BUCKET,
      ttlMs: REGISTRY_TTL_MS,
      codec: RegistryAnnouncement,
      key: (a) => a.id,
      usable: (a) => a.grpcAddress !== '',
      noneMessage: 'No registry is running: start the platform with `berth platform up` (it runs one)',
    });
  }
}

/** A KV key for a registry id made from free text (host names, URLs): other characters become `_`. */
export function registryKey(text: string): string {
  return text.replace(/[^-/_=.a-zA-Z0-9]/g, '_');
}
