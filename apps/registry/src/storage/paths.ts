import { join } from 'node:path';
import type { Digest } from '../digest.js';

/**
 * The on-disk layout of a registry root (modelled on registry:2's filesystem driver, so the same
 * mental model and tools apply). Blob content is global and content-addressed; repositories only
 * hold small `link` files whose content is the digest they point to. A blob is visible in a
 * repository when both its `data` and the repository's link exist.
 *
 * ```
 * <root>/
 * ├── blobs/sha256/<2hex>/<hex>/data                 blob bytes (layers, configs, manifests), written
 * │                                                  once by rename(2) from an upload's data file
 * ├── repositories/<name>/                           <name> may hold slashes: library/busybox
 * │   ├── _layers/sha256/<hex>/link                  blob pushed / mounted into this repository
 * │   ├── _manifests/
 * │   │   ├── revisions/sha256/<hex>/link            manifest stored in this repository
 * │   │   └── tags/<tag>/current/link                tag → manifest digest
 * │   ├── _referrers/sha256/<subject-hex>/sha256/<hex>/link
 * │   │                                              manifest <hex> has `subject` <subject-hex>
 * │   └── _uploads/<uuid>/
 * │       ├── data                                   bytes received so far (appended in order)
 * │       └── startedat                              RFC 3339 start time (gc reaps stale uploads)
 * ├── auth/token.key                                 ES256 signing key of the token endpoint (token mode)
 * └── tls/{cert,key}.pem                             self-signed certificate (--tls-self-signed)
 * ```
 *
 * registry:2 also keeps `_uploads/<uuid>/hashstates/`; Node cannot serialize a hash state, so the
 * running digest of a chunked upload is kept in memory and recomputed from `data` after a restart.
 * Directories beginning with `_` are never repository name components (the name grammar forbids them).
 */
export class RegistryPaths {
  constructor(readonly root: string) {}

  get blobsDir(): string {
    return join(this.root, 'blobs', 'sha256');
  }

  get repositoriesDir(): string {
    return join(this.root, 'repositories');
  }

  blobDir(d: Digest): string {
    return join(this.blobsDir, d.hex.slice(0, 2), d.hex);
  }

  blobData(d: Digest): string {
    return join(this.blobDir(d), 'data');
  }

  repository(name: string): string {
    return join(this.repositoriesDir, ...name.split('/'));
  }

  layersDir(name: string): string {
    return join(this.repository(name), '_layers', 'sha256');
  }

  layerLink(name: string, d: Digest): string {
    return join(this.layersDir(name), d.hex, 'link');
  }

  revisionsDir(name: string): string {
    return join(this.repository(name), '_manifests', 'revisions', 'sha256');
  }

  revisionLink(name: string, d: Digest): string {
    return join(this.revisionsDir(name), d.hex, 'link');
  }

  tagsDir(name: string): string {
    return join(this.repository(name), '_manifests', 'tags');
  }

  tagDir(name: string, tag: string): string {
    return join(this.tagsDir(name), tag);
  }

  tagLink(name: string, tag: string): string {
    return join(this.tagDir(name, tag), 'current', 'link');
  }

  referrersDir(name: string, subject: Digest): string {
    return join(this.repository(name), '_referrers', 'sha256', subject.hex, 'sha256');
  }

  referrerLink(name: string, subject: Digest, d: Digest): string {
    return join(this.referrersDir(name, subject), d.hex, 'link');
  }

  uploadsDir(name: string): string {
    return join(this.repository(name), '_uploads');
  }

  uploadDir(name: string, uuid: string): string {
    return join(this.uploadsDir(name), uuid);
  }

  uploadData(name: string, uuid: string): string {
    return join(this.uploadDir(name, uuid), 'data');
  }

  uploadStartedAt(name: string, uuid: string): string {
    return join(this.uploadDir(name, uuid), 'startedat');
  }
}
