/**
 * What `fn` throws, or undefined when it returns: for tests that check more of an error than
 * `toThrow` can (its class and exact message, its detail), without a try/catch of their own.
 */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
