import { InvalidArgumentError } from '@berth/errors';
import { isIndexType, isManifestType, MediaType } from '@berth/oci';

/** Manifests are small; registries accept at least 4 MiB (distribution-spec). */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;

export const MANIFEST_ACCEPT = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest];

/**
 * The media type of a served manifest: the Content-Type when it names a manifest or index type,
 * else the document's own `mediaType`, else guessed from its shape (`manifests` → OCI index,
 * `config` → OCI manifest). Docker schema 1 is refused.
 */
export function manifestMediaType(contentType: string | undefined, bytes: Buffer): string {
  const type = contentType?.split(';')[0]!.trim();
  if (type !== undefined && (isManifestType(type) || isIndexType(type))) return type;
  let doc: { mediaType?: unknown; manifests?: unknown; config?: unknown; schemaVersion?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`Invalid manifest: not JSON (content type "${type ?? ''}")`, { cause: err });
  }
  if (doc.schemaVersion === 1 || type?.startsWith('application/vnd.docker.distribution.manifest.v1')) {
    throw new InvalidArgumentError('Docker image manifest schema 1 is not supported: push the image again with a current client');
  }
  if (typeof doc.mediaType === 'string' && (isManifestType(doc.mediaType) || isIndexType(doc.mediaType))) return doc.mediaType;
  if (Array.isArray(doc.manifests)) return MediaType.OciIndex;
  if (doc.config !== undefined) return MediaType.OciManifest;
  throw new InvalidArgumentError(`Unsupported manifest media type "${type ?? String(doc.mediaType)}"`);
}
