import { isBerthError } from '@berth/errors';
import { isIndexType, MediaType, validateDescriptor, type Descriptor } from '@berth/oci';
import { RegistryError } from './registry-error.js';

/**
 * What the registry reads of a pushed manifest: its media type (negotiated with the Content-Type),
 * what it references (for the MANIFEST_BLOB_UNKNOWN check, gc and referrers), nothing more. The
 * media types, descriptor type and descriptor validation are @berth/oci's.
 */

/** The manifest media types the registry stores and serves. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
];

/** What the registry needs to know about a pushed manifest. */
export interface ParsedManifest {
  mediaType: string;
  kind: 'manifest' | 'index';
  /** The config and layers of an image manifest (empty for an index). */
  blobs: Descriptor[];
  /** The child manifests of an index (empty for an image manifest). */
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** `config.mediaType` of an image manifest (the referrers API's fallback artifactType). */
  configMediaType?: string;
}

/** `application/json; charset=utf-8` → `application/json`. */
export function bareMediaType(contentType: string | undefined): string | undefined {
  const t = contentType?.split(';')[0]?.trim().toLowerCase();
  return t === '' ? undefined : t;
}

function invalid(message: string, detail?: unknown): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message, { detail });
}

/** @berth/oci's descriptor check, answered as MANIFEST_INVALID (`Invalid manifest: config.digest "…" is not a valid digest`). */
function checkDescriptor(value: unknown, where: string): Descriptor {
  try {
    return validateDescriptor(value, 'manifest', where);
  } catch (err) {
    if (isBerthError(err)) throw invalid(err.message);
    throw err;
  }
}

/**
 * Parses and validates a manifest body as pushed (`PUT /v2/<name>/manifests/<ref>`) or stored.
 * The media type comes from the `mediaType` field, else from the request's Content-Type, else from
 * the shape (`manifests` → OCI index, `config` → OCI image manifest). A `mediaType` field that
 * contradicts a manifest Content-Type, schema 1, an unknown media type or a malformed descriptor
 * throws `MANIFEST_INVALID`.
 */
export function parseManifest(body: Buffer, contentType?: string): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalid(`Invalid manifest: body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('Invalid manifest: body must be a JSON object');
  const m = json as Record<string, unknown>;
  const header = bareMediaType(contentType);
  if (header === MediaType.DockerSchema1 || header === MediaType.DockerSchema1Signed || m.schemaVersion === 1) {
    throw invalid('Invalid manifest: Docker schema 1 manifests are not supported, push schema 2 or OCI');
  }
  if (m.schemaVersion !== 2) throw invalid(`Invalid manifest: schemaVersion must be 2, got ${JSON.stringify(m.schemaVersion)}`);
  if (m.mediaType !== undefined && typeof m.mediaType !== 'string') throw invalid('Invalid manifest: mediaType must be a string');
  let mediaType = m.mediaType as string | undefined;
  if (mediaType !== undefined && header !== undefined && MANIFEST_MEDIA_TYPES.includes(header) && header !== mediaType) {
    throw invalid(`Invalid manifest: mediaType "${mediaType}" does not match Content-Type "${header}"`);
  }
  if (mediaType === undefined && header !== undefined && MANIFEST_MEDIA_TYPES.includes(header)) mediaType = header;
  if (mediaType === undefined) mediaType = Array.isArray(m.manifests) ? MediaType.OciIndex : MediaType.OciManifest;
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw invalid(`Invalid manifest: unsupported media type "${mediaType}", expected one of ${MANIFEST_MEDIA_TYPES.join(', ')}`);
  }

  const subject = m.subject === undefined ? undefined : checkDescriptor(m.subject, 'subject');
  const annotations = m.annotations as Record<string, string> | undefined;
  const artifactType = typeof m.artifactType === 'string' && m.artifactType !== '' ? m.artifactType : undefined;
  if (isIndexType(mediaType)) {
    if (!Array.isArray(m.manifests)) throw invalid('Invalid manifest: an index must have a "manifests" array');
    const manifests = m.manifests.map((d, i) => checkDescriptor(d, `manifests[${i}]`));
    return { mediaType, kind: 'index', blobs: [], manifests, subject, artifactType, annotations };
  }
  if (Array.isArray(m.manifests)) throw invalid(`Invalid manifest: an image manifest ("${mediaType}") cannot have "manifests"`);
  const config = checkDescriptor(m.config, 'config');
  if (!Array.isArray(m.layers)) throw invalid('Invalid manifest: an image manifest must have a "layers" array');
  const layers = m.layers.map((d, i) => checkDescriptor(d, `layers[${i}]`));
  return {
    mediaType,
    kind: 'manifest',
    blobs: [config, ...layers],
    manifests: [],
    subject,
    artifactType,
    annotations,
    configMediaType: config.mediaType,
  };
}

/**
 * Foreign / non-distributable layers (Windows base layers) are fetched from their `urls` and need
 * not exist in the registry, as registry:2 allows.
 */
export function isForeignLayer(d: Descriptor): boolean {
  return Array.isArray(d.urls) && d.urls.length > 0;
}

/**
 * Parses an `Accept` header list into media types (parameters and q-values ignored, `*` kept).
 * Returns undefined when there is no Accept header at all (the client takes anything).
 */
export function parseAccept(accept: string | string[] | undefined): string[] | undefined {
  if (accept === undefined) return undefined;
  const list = (Array.isArray(accept) ? accept : [accept]).flatMap((a) => a.split(','));
  return list.map((t) => bareMediaType(t)).filter((t): t is string => t !== undefined);
}

export function accepts(accepted: string[] | undefined, mediaType: string): boolean {
  if (accepted === undefined || accepted.length === 0) return true;
  return accepted.some((t) => t === mediaType || t === '*/*' || t === 'application/*');
}
