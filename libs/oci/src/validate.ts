import { InvalidArgumentError } from '@berth/errors';
import { isDigest } from './digest.js';
import { isConfigType, isIndexType, isManifestType, MediaType } from './media-types.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from './types.js';

/**
 * Structural validation of the JSON documents Berth reads from untrusted places (registries, `load`
 * tars, clients). Each validator returns its input typed, or throws InvalidArgumentError naming the
 * field: `Invalid image manifest: layers[2].digest "sha256:xyz" is not a valid digest`.
 */

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function fail(what: string, message: string): never {
  throw new InvalidArgumentError(`Invalid ${what}: ${message}`);
}

function checkStringMap(what: string, field: string, x: unknown): void {
  if (x === undefined) return;
  if (!isObject(x) || Object.values(x).some((v) => typeof v !== 'string')) {
    fail(what, `${field} must be an object of strings`);
  }
}

/** Validates one descriptor (descriptor.md): mediaType, digest, non-negative integer size. */
export function validateDescriptor(json: unknown, what = 'descriptor', field = 'descriptor'): Descriptor {
  if (!isObject(json)) fail(what, `${field} must be an object`);
  if (typeof json.mediaType !== 'string' || json.mediaType === '') fail(what, `${field}.mediaType is missing`);
  if (typeof json.digest !== 'string' || !isDigest(json.digest)) {
    fail(what, `${field}.digest ${JSON.stringify(json.digest)} is not a valid digest`);
  }
  if (typeof json.size !== 'number' || !Number.isSafeInteger(json.size) || json.size < 0) {
    fail(what, `${field}.size ${JSON.stringify(json.size)} must be a non-negative integer`);
  }
  if (json.urls !== undefined && (!Array.isArray(json.urls) || json.urls.some((u) => typeof u !== 'string'))) {
    fail(what, `${field}.urls must be an array of strings`);
  }
  checkStringMap(what, `${field}.annotations`, json.annotations);
  return json as unknown as Descriptor;
}

/** What a manifest and an index both start with: a JSON object, schemaVersion 2, and a mediaType (when set) of their kind. */
function checkHead(what: string, json: unknown, isKind: (mediaType: string) => boolean): asserts json is Json {
  if (!isObject(json)) fail(what, 'expected a JSON object');
  if (json.schemaVersion !== 2) fail(what, `schemaVersion ${JSON.stringify(json.schemaVersion)} is not 2`);
  if (json.mediaType !== undefined && !isKind(json.mediaType as string)) {
    fail(what, `mediaType "${String(json.mediaType)}" is not an ${what} type`);
  }
}

/** Validates an image manifest (OCI or Docker schema 2). */
export function validateManifest(json: unknown): ImageManifest {
  const what = 'image manifest';
  checkHead(what, json, isManifestType);
  if (json.manifests !== undefined) fail(what, 'has "manifests": this is an image index, not a manifest');
  const config = validateDescriptor(json.config, what, 'config');
  if (json.artifactType === undefined && !isConfigType(config.mediaType) && config.mediaType !== MediaType.OciEmpty) {
    // Artifacts (artifactType set) may use any config type; images must use an image config.
    fail(what, `config.mediaType "${config.mediaType}" is not an image config type`);
  }
  if (!Array.isArray(json.layers)) fail(what, 'layers must be an array');
  json.layers.forEach((layer, i) => validateDescriptor(layer, what, `layers[${i}]`));
  if (json.subject !== undefined) validateDescriptor(json.subject, what, 'subject');
  checkStringMap(what, 'annotations', json.annotations);
  return json as unknown as ImageManifest;
}

/** Validates an image index (OCI) or manifest list (Docker). */
export function validateIndex(json: unknown): ImageIndex {
  const what = 'image index';
  checkHead(what, json, isIndexType);
  if (!Array.isArray(json.manifests)) fail(what, 'manifests must be an array');
  json.manifests.forEach((m, i) => {
    const d = validateDescriptor(m, what, `manifests[${i}]`);
    if (d.platform !== undefined) {
      const p = d.platform as unknown;
      if (!isObject(p) || typeof p.os !== 'string' || typeof p.architecture !== 'string') {
        fail(what, `manifests[${i}].platform needs os and architecture strings`);
      }
    }
  });
  checkStringMap(what, 'annotations', json.annotations);
  return json as unknown as ImageIndex;
}

/** Validates an image config (config.md): architecture, os, rootfs of type "layers" with digests. */
export function validateConfig(json: unknown): ImageConfig {
  const what = 'image config';
  if (!isObject(json)) fail(what, 'expected a JSON object');
  if (typeof json.architecture !== 'string' || json.architecture === '') fail(what, 'architecture is missing');
  if (typeof json.os !== 'string' || json.os === '') fail(what, 'os is missing');
  const rootfs = json.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers') fail(what, 'rootfs.type must be "layers"');
  if (!Array.isArray(rootfs.diff_ids)) fail(what, 'rootfs.diff_ids must be an array');
  rootfs.diff_ids.forEach((d, i) => {
    if (typeof d !== 'string' || !isDigest(d)) fail(what, `rootfs.diff_ids[${i}] ${JSON.stringify(d)} is not a valid digest`);
  });
  if (json.config !== undefined && json.config !== null && !isObject(json.config)) fail(what, 'config must be an object');
  if (json.history !== undefined && !Array.isArray(json.history)) fail(what, 'history must be an array');
  return json as unknown as ImageConfig;
}
