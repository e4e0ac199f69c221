/** Whether a process with this pid exists (a zombie not yet reaped still does). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves once `pid` is gone (exited and reaped), e.g. after sending it SIGKILL; rejects after
 * `timeoutMs`. Use it instead of a fixed sleep after a kill.
 */
export async function waitForProcessExit(pid: number, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  while (processExists(pid)) {
    if (Date.now() > deadline) throw new Error(`Process ${pid} still exists ${timeoutMs} ms later`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
