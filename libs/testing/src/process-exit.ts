/**
 * Sends `signal` to the process `pid`, which must be a positive whole number: a pid read from an
 * empty file or an empty `{{.State.Pid}}` is 0 (or NaN), and `process.kill(0, …)` signals the
 * caller's whole process group, vitest and npm included (seen: a full-disk test's SIGUSR1).
 */
export function signalProcess(pid: number, signal: NodeJS.Signals | 0): void {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`Not a process id: ${pid} (the signal ${signal} was not sent)`);
  process.kill(pid, signal);
}

/** Whether a process with this pid exists (a zombie not yet reaped still does). */
export function processExists(pid: number): boolean {
  try {
    signalProcess(pid, 0);
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
