import { BerthError, type ErrorKind } from '@berth/errors';

/**
 * The OCI distribution error codes (distribution-spec "Error Codes", plus the legacy Docker
 * `TAG_INVALID`), each with the HTTP status it is answered with by default, the error kind of
 * `@berth/errors` it belongs to, and the spec's description (kept as the `message` prefix clients
 * print, e.g. `blob unknown to registry`).
 *
 * | code | status | how to fix |
 * | --- | --- | --- |
 * | BLOB_UNKNOWN | 404 | push the blob first (or mount it from a repository that has it) |
 * | BLOB_UPLOAD_INVALID | 400 / 416 | resume from the offset in the `Range` header of `GET <location>` |
 * | BLOB_UPLOAD_UNKNOWN | 404 | start a new upload with `POST /v2/<name>/blobs/uploads/` |
 * | DIGEST_INVALID | 400 | send the sha256 or sha512 digest of the whole blob / manifest body |
 * | MANIFEST_BLOB_UNKNOWN | 400 | push the referenced blobs (or child manifests) before the manifest |
 * | MANIFEST_INVALID | 400 | send a JSON image manifest or index with a supported `mediaType` |
 * | MANIFEST_UNKNOWN | 404 | check the tag / digest (`GET /v2/<name>/tags/list`) |
 * | NAME_INVALID | 400 | use lowercase `[a-z0-9]` components separated by `.`, `_`, `__`, `-`, `/` |
 * | NAME_UNKNOWN | 404 | push something to the repository first |
 * | SIZE_INVALID | 400 / 413 | keep manifests under 4 MiB; send the exact Content-Length |
 * | TAG_INVALID | 400 | tags match `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}` |
 * | UNAUTHORIZED | 401 | log in (`docker login`), follow the `WWW-Authenticate` challenge |
 * | DENIED | 403 | ask for the action in the registry's access file |
 * | UNSUPPORTED | 405 / 415 | enable the feature (`--delete-enabled`) or use a supported type |
 * | TOOMANYREQUESTS | 429 | retry after the `Retry-After` delay |
 * | UNKNOWN | 500 | a server fault: read the registry's log |
 */
export const ERROR_CODES = {
  BLOB_UNKNOWN: { status: 404, kind: 'not-found', description: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, kind: 'invalid-argument', description: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, kind: 'not-found', description: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, kind: 'invalid-argument', description: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, kind: 'failed-precondition', description: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, kind: 'invalid-argument', description: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, kind: 'not-found', description: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, kind: 'invalid-argument', description: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, kind: 'not-found', description: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, kind: 'invalid-argument', description: 'provided length did not match content length' },
  TAG_INVALID: { status: 400, kind: 'invalid-argument', description: 'manifest tag did not match URI' },
  UNAUTHORIZED: { status: 401, kind: 'permission-denied', description: 'authentication required' },
  DENIED: { status: 403, kind: 'permission-denied', description: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, kind: 'failed-precondition', description: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, kind: 'unavailable', description: 'too many requests' },
  // Not in the OCI list: registry:2's code for a 5xx (the spec lets 5xx bodies be anything).
  UNKNOWN: { status: 500, kind: 'internal', description: 'unknown error' },
} as const satisfies Record<string, { status: number; kind: ErrorKind; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface RegistryErrorOptions {
  /** Overrides the code's default status (416 for an out-of-order chunk, 413, 415, ...). */
  status?: number;
  /** The `detail` member of the JSON error (any JSON value). */
  detail?: unknown;
  /** Extra response headers (`WWW-Authenticate`, `Range`, `Location`, ...). */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * An error the registry answers with `{"errors":[{"code","message","detail"}]}`. It is a
 * `BerthError` whose `kind` follows the code, so code outside the HTTP edge can treat it like any
 * other Berth error.
 */
export class RegistryError extends BerthError {
  readonly kind: ErrorKind;
  readonly status: number;
  readonly registryCode: ErrorCode;
  readonly registryDetail: unknown;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, options: RegistryErrorOptions = {}) {
    super(message, { code, cause: options.cause });
    this.kind = ERROR_CODES[code].kind;
    this.status = options.status ?? ERROR_CODES[code].status;
    this.registryCode = code;
    this.registryDetail = options.detail;
    this.headers = options.headers ?? {};
  }

  /** The JSON body of the response. */
  toJSON(): { errors: Array<{ code: string; message: string; detail?: unknown }> } {
    const entry: { code: string; message: string; detail?: unknown } = { code: this.registryCode, message: this.message };
    if (this.registryDetail !== undefined) entry.detail = this.registryDetail;
    return { errors: [entry] };
  }
}

export function isRegistryError(err: unknown): err is RegistryError {
  return err instanceof RegistryError;
}
