import { join } from 'node:path';
import type { DigestAlgorithm, ParsedDigest } from '@berth/oci';

/**
 * The on-disk layout of a registry root (modelled on registry:2's filesystem driver, so the same
 * mental model and tools apply). Blob content is global and content-addressed; repositories only
 * hold small `link` files whose content is the digest they point to. A blob is visible in a
 * repository when both its `data` and the repository's link exist.
 *
 * Content is addressed by algorithm and hex, so sha256 and sha512 content live side by side
 * (`<alg>` below is `sha256` or `sha512`; a link file holds the full `<alg>:<hex>` digest).
 *
 * ```
 * <root>/
 * ├── blobs/<alg>/<2hex>/<hex>/data                  blob bytes (layers, configs, manifests), written
 * │                                                  once by rename(2) from an upload's data file
 * ├── repositories/<name>/                           <name> may hold slashes: library/busybox
 * │   ├── _layers/<alg>/<hex>/link                   blob pushed / mounted into this repository
 * │   ├── _manifests/
 * │   │   ├── revisions/<alg>/<hex>/link             manifest stored in this repository
 * │   │   └── tags/<tag>/current/link                tag → manifest digest
 * │   ├── _referrers/<alg>/<subject-hex>/<alg>/<hex>/link
 * │   │                                              manifest <alg>:<hex> has `subject` <alg>:<subject-hex>
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

  /** `blobs/<alg>`: one directory per algorithm. */
  blobsDir(algorithm: DigestAlgorithm): string {
    return join(this.root, 'blobs', algorithm);
  }

  get repositoriesDir(): string {
    return join(this.root, 'repositories');
  }

  blobDir(d: ParsedDigest): string {
    return join(this.blobsDir(d.algorithm), d.hex.slice(0, 2), d.hex);
  }

  blobData(d: ParsedDigest): string {
    return join(this.blobDir(d), 'data');
  }

  repository(name: string): string {
    return join(this.repositoriesDir, ...name.split('/'));
  }

  layersDir(name: string, algorithm: DigestAlgorithm): string {
    return join(this.repository(name), '_layers', algorithm);
  }

  layerLink(name: string, d: ParsedDigest): string {
    return join(this.layersDir(name, d.algorithm), d.hex, 'link');
  }

  revisionsDir(name: string, algorithm: DigestAlgorithm): string {
    return join(this.repository(name), '_manifests', 'revisions', algorithm);
  }

  revisionLink(name: string, d: ParsedDigest): string {
    return join(this.revisionsDir(name, d.algorithm), d.hex, 'link');
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

  /** `_referrers/<alg>/<subject-hex>`: holds `<alg>/<hex>/link` per referrer. */
  referrersDir(name: string, subject: ParsedDigest): string {
    return join(this.repository(name), '_referrers', subject.algorithm, subject.hex);
  }

  referrerLink(name: string, subject: ParsedDigest, d: ParsedDigest): string {
    return join(this.referrersDir(name, subject), d.algorithm, d.hex, 'link');
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
