import { FailedPreconditionError, isBerthError } from '@berth/errors';
import type Database from 'better-sqlite3';

/**
 * A full data root, as one error. Writes that need space are refused with
 * FailedPreconditionError (gRPC FAILED_PRECONDITION: the caller must free space before retrying,
 * which is that code's contract; HTTP 409), code `NO_SPACE`, message
 * `No space left on device: the data root "/var/lib/berth" is full`. Reads keep working.
 */
export const NO_SPACE = 'NO_SPACE';

/** The error for a write refused because the file system of `dataRoot` is full. */
export function noSpaceError(dataRoot: string, options: { cause?: unknown } = {}): FailedPreconditionError {
  return new FailedPreconditionError(`No space left on device: the data root "${dataRoot}" is full`, {
    code: NO_SPACE,
    detail: { dataRoot },
    cause: options.cause,
  });
}

/**
 * True for a full file system in any of its shapes: ENOSPC or EDQUOT from a file system call,
 * SQLITE_FULL from SQLite, or an error made by `noSpaceError` (also as the `cause` of another).
 */
export function isNoSpace(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (isBerthError(e) && e.code === NO_SPACE) return true;
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** `err` as the NO_SPACE error of `dataRoot` when it is a full file system; else `err` itself. */
export function asNoSpace(err: unknown, dataRoot: string): unknown {
  if (!isNoSpace(err)) return err;
  if (isBerthError(err) && err.code === NO_SPACE) return err;
  return noSpaceError(dataRoot, { cause: err });
}

/**
 * Wraps a database so that every statement, transaction, `exec` and `pragma` that fails because the
 * disk is full throws `noSpaceError(dataRoot)` instead of SQLite's `SQLITE_FULL`. One wrapper for
 * every user of the database (containers, images, volumes, networks, the build cache).
 */
export function guardFullDisk(db: Database.Database, dataRoot: string): Database.Database {
  const guard = <T>(run: () => T): T => {
    try {
      return run();
    } catch (err) {
      throw asNoSpace(err, dataRoot);
    }
  };
  const wrapStatement = (stmt: Database.Statement): Database.Statement => {
    const proxy: Database.Statement = new Proxy(stmt, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result = guard(() => (value as (...a: unknown[]) => unknown).apply(target, args));
          return result === target ? proxy : result; // pluck(), raw(), bind() … return the statement
        };
      },
    });
    return proxy;
  };
  const wrapTransaction = <F extends (...args: never[]) => unknown>(tx: Database.Transaction<F>): Database.Transaction<F> => {
    const call = (variant: (...args: unknown[]) => unknown) => (...args: unknown[]) => guard(() => variant(...args));
    const wrapped = call(tx as unknown as (...args: unknown[]) => unknown) as unknown as Database.Transaction<F>;
    for (const v of ['deferred', 'immediate', 'exclusive'] as const) {
      (wrapped as unknown as Record<string, unknown>)[v] = call(tx[v] as unknown as (...args: unknown[]) => unknown);
    }
    return wrapped;
  };
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'prepare') return (source: string) => wrapStatement(guard(() => target.prepare(source)));
      if (prop === 'transaction') return <F extends (...args: never[]) => unknown>(fn: F) => wrapTransaction(target.transaction(fn));
      return (...args: unknown[]) => guard(() => (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
}
