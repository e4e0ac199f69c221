import { freeLoopbackPort } from '@berth/platform';

/**
 * A TCP port free on every address a moment ago, below the kernel's ephemeral range (so no outgoing
 * connection takes it before the server the test starts binds it), never the same twice in a process.
 */
export const freePort = freeLoopbackPort;

/** Resolves once something accepts TCP connections on host:port, or rejects after timeoutMs. */
export async function waitForPort(port: number, options: { host?: string; timeoutMs?: number } = {}): Promise<void> {
  const { host = '127.0.0.1', timeoutMs = 10_000 } = options;
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`Nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
