/**
 * Serializes async operations per key (one container id): `run(key, fn)` waits until every earlier
 * `run` of the same key has settled, then runs `fn`. Different keys never wait for each other.
 * Not reentrant: an operation must not `run` its own key again (it would wait for itself).
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    try {
      await previous;
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
