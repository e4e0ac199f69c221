/**
 * Resolves like `promise`, or rejects with `onTimeout()` after `ms` (the promise keeps running; its
 * late outcome is ignored). NATS requests can wait a long time while the server is away: callers
 * that must answer a user put a deadline on them with this.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
