export interface TimedCallsOptions {
  /** Time only the calls that return a promise (a call returning a stream, say, passes untimed). */
  promisesOnly?: boolean;
}

/**
 * `target` with its method calls timed, for profiling: `record(method, ms)` after each call returns,
 * or, for a call that returns a promise, once the promise settles. Properties that are not methods
 * pass through as they are.
 */
export function timedCalls<T extends object>(target: T, record: (method: string, ms: number) => void, options: TimedCallsOptions = {}): T {
  return new Proxy(target, {
    get(obj, property, receiver) {
      const value = Reflect.get(obj, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        const began = performance.now();
        const result = (value as (...a: unknown[]) => unknown).apply(obj, args);
        if (result instanceof Promise) return result.finally(() => record(property, performance.now() - began));
        if (!options.promisesOnly) record(property, performance.now() - began);
        return result;
      };
    },
  });
}
