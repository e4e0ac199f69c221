/**
 * The closed set of error classes every Berth library throws. Edges (gRPC handlers, the HTTP API,
 * the CLI) translate them with `grpcCodeOf` / `httpStatusOf` / `exitCodeOf`, in this file only.
 *
 * Messages follow the style guide: sentence case, no final period, quote the value, say what was
 * expected: `No such container: web`, `Invalid reference format: "Busybox" must be lowercase`.
 */

export type ErrorKind =
  | 'not-found'
  | 'already-exists'
  | 'invalid-argument'
  | 'failed-precondition'
  | 'conflict'
  | 'unavailable'
  | 'permission-denied'
  | 'internal';

export interface BerthErrorOptions {
  /** The original error, kept for logs and `cause` chains. */
  cause?: unknown;
  /** A stable machine-readable code, e.g. `NO_SUCH_CONTAINER`, `BLOB_UNKNOWN`. */
  code?: string;
  /** Optional structured detail (a path, a field, a line number). */
  detail?: Record<string, unknown>;
}

export abstract class BerthError extends Error {
  abstract readonly kind: ErrorKind;
  readonly code?: string;
  readonly detail?: Record<string, unknown>;

  constructor(message: string, options: BerthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.detail = options.detail;
  }
}

export class NotFoundError extends BerthError {
  readonly kind = 'not-found' as const;
}
export class AlreadyExistsError extends BerthError {
  readonly kind = 'already-exists' as const;
}
export class InvalidArgumentError extends BerthError {
  readonly kind = 'invalid-argument' as const;
}
export class FailedPreconditionError extends BerthError {
  readonly kind = 'failed-precondition' as const;
}
export class ConflictError extends BerthError {
  readonly kind = 'conflict' as const;
}
export class UnavailableError extends BerthError {
  readonly kind = 'unavailable' as const;
}
export class PermissionDeniedError extends BerthError {
  readonly kind = 'permission-denied' as const;
}
export class InternalError extends BerthError {
  readonly kind = 'internal' as const;
}

const classes: Record<ErrorKind, new (message: string, options?: BerthErrorOptions) => BerthError> = {
  'not-found': NotFoundError,
  'already-exists': AlreadyExistsError,
  'invalid-argument': InvalidArgumentError,
  'failed-precondition': FailedPreconditionError,
  conflict: ConflictError,
  unavailable: UnavailableError,
  'permission-denied': PermissionDeniedError,
  internal: InternalError,
};

/** gRPC status codes (numeric, as in grpc-js `status`) per kind. */
const grpcCodes: Record<ErrorKind, number> = {
  'invalid-argument': 3,
  'not-found': 5,
  'already-exists': 6,
  'permission-denied': 7,
  'failed-precondition': 9,
  conflict: 10, // ABORTED
  internal: 13,
  unavailable: 14,
};

/** HTTP statuses as the Docker Engine API uses them. */
const httpStatuses: Record<ErrorKind, number> = {
  'invalid-argument': 400,
  'not-found': 404,
  'already-exists': 409,
  'permission-denied': 403,
  'failed-precondition': 409,
  conflict: 409,
  internal: 500,
  unavailable: 503,
};

export function isBerthError(err: unknown): err is BerthError {
  return err instanceof BerthError;
}

export function errorKindOf(err: unknown): ErrorKind {
  return isBerthError(err) ? err.kind : 'internal';
}

export function grpcCodeOf(err: unknown): number {
  return grpcCodes[errorKindOf(err)];
}

export function httpStatusOf(err: unknown): number {
  return httpStatuses[errorKindOf(err)];
}

/** Turns a gRPC status code back into the error class (the client side of `grpcCodeOf`). */
export function errorFromGrpc(code: number, message: string, options: BerthErrorOptions = {}): BerthError {
  const kind = (Object.keys(grpcCodes) as ErrorKind[]).find((k) => grpcCodes[k] === code);
  if (kind === undefined) {
    // DEADLINE_EXCEEDED, CANCELLED, UNKNOWN, ...: the peer could not answer.
    return code === 4 || code === 1 ? new UnavailableError(message, options) : new InternalError(message, options);
  }
  return new classes[kind](message, options);
}

/** Builds an error of the given kind (for code that maps kinds generically). */
export function errorOfKind(kind: ErrorKind, message: string, options: BerthErrorOptions = {}): BerthError {
  return new classes[kind](message, options);
}

/** The message of any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
