import type { Readable } from 'node:stream';
import type { Reference } from '@berth/oci';
import type { HttpResponse } from './http-request.js';
import type { RegistryRequest } from './registry-transport.js';

/*
 * The narrow views of a registry that the pull and push flows take (RegistryClient implements
 * both), so the flows do not depend on the client that calls them.
 */

/** A manifest or index as served: its exact bytes, media type and (verified) digest. */
export interface ManifestResponse {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

/** A blob download: the body from `offset` on. */
export interface BlobStream {
  stream: Readable;
  /** Where the body starts (0 when the registry ignored a Range request). */
  offset: number;
  /** The whole blob's size, when the registry said. */
  size?: number;
}

/** What the pull flow reads from a registry. */
export interface ManifestSource {
  /** The manifest or index `ref` names (or `digest`), verified; NotFoundError when there is none. */
  getManifest(ref: Reference, options?: { digest?: string }): Promise<ManifestResponse>;
  /** A blob's bytes from `offset` (Range request); not verified here. */
  openBlob(ref: Reference, digest: string, options?: { offset?: number }): Promise<BlobStream>;
}

/** What the push flow writes to a registry. */
export interface BlobTarget {
  /** True when the repository of `ref` has the blob. */
  hasBlob(ref: Reference, digest: string, options?: { scopes?: string[] }): Promise<boolean>;
  /** Upload and manifest requests, with the client's auth. */
  readonly transport: { request(domain: string, request: RegistryRequest): Promise<HttpResponse> };
}
