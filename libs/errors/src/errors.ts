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

/**
 * Each kind's class, gRPC status code (numeric, as in grpc-js `status`) and HTTP status (as the
 * Docker Engine API uses them): the one place the edges' codes come from.
 */
const kinds: Record<ErrorKind, { errorClass: new (message: string, options?: BerthErrorOptions) => BerthError; grpc: number; http: number }> = {
  'invalid-argument': { errorClass: InvalidArgumentError, grpc: 3, http: 400 },
  'not-found': { errorClass: NotFoundError, grpc: 5, http: 404 },
  'already-exists': { errorClass: AlreadyExistsError, grpc: 6, http: 409 },
  'permission-denied': { errorClass: PermissionDeniedError, grpc: 7, http: 403 },
  'failed-precondition': { errorClass: FailedPreconditionError, grpc: 9, http: 409 },
  conflict: { errorClass: ConflictError, grpc: 10, http: 409 }, // gRPC ABORTED
  internal: { errorClass: InternalError, grpc: 13, http: 500 },
  unavailable: { errorClass: UnavailableError, grpc: 14, http: 503 },
};

export function isBerthError(err: unknown): err is BerthError {
  return err instanceof BerthError;
}

export function errorKindOf(err: unknown): ErrorKind {
  return isBerthError(err) ? err.kind : 'internal';
}

export function grpcCodeOf(err: unknown): number {
  return kinds[errorKindOf(err)].grpc;
}

export function httpStatusOf(err: unknown): number {
  return kinds[errorKindOf(err)].http;
}

/** Turns a gRPC status code back into the error class (the client side of `grpcCodeOf`). */
export function errorFromGrpc(code: number, message: string, options: BerthErrorOptions = {}): BerthError {
  const kind = (Object.keys(kinds) as ErrorKind[]).find((k) => kinds[k].grpc === code);
  if (kind === undefined) {
    // DEADLINE_EXCEEDED, CANCELLED, UNKNOWN, ...: the peer could not answer.
    return code === 4 || code === 1 ? new UnavailableError(message, options) : new InternalError(message, options);
  }
  return new kinds[kind].errorClass(message, options);
}

/** Builds an error of the given kind (for code that maps kinds generically). */
export function errorOfKind(kind: ErrorKind, message: string, options: BerthErrorOptions = {}): BerthError {
  return new kinds[kind].errorClass(message, options);
}

/** The message of any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
