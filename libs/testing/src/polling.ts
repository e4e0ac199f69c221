/**
 * Polls `what` until `ok` holds or `timeoutMs` passes, then returns the last value (for the
 * assertion that follows to show what was seen).
 */
export async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const v = await what();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 200));
  }
}

/**
 * Waits until `condition` holds, checking every `intervalMs` (50 ms unless given); rejects with
 * `Timed out waiting for <what>` after `timeoutMs` (10 s unless given).
 */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}
