import { isDigest } from './digest.js';
import { RegistryError } from './registry-error.js';

// TODO(lead): merge with the MediaType constants and validateManifest of @berth/oci once it lands.

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** The manifest media types the registry stores and serves. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
];

const INDEX_TYPES: readonly string[] = [MediaType.OciIndex, MediaType.DockerManifestList];

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: { architecture: string; os: string; variant?: string };
}

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

function checkDescriptor(value: unknown, where: string): Descriptor {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`Invalid manifest: ${where} must be a descriptor object`);
  const d = value as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || d.mediaType === '') throw invalid(`Invalid manifest: ${where}.mediaType must be a non-empty string`);
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) {
    throw invalid(`Invalid manifest: ${where}.digest "${String(d.digest)}" must be "sha256:" followed by 64 lowercase hex characters`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw invalid(`Invalid manifest: ${where}.size must be a non-negative integer`);
  }
  return d as unknown as Descriptor;
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
  if (INDEX_TYPES.includes(mediaType)) {
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
