import { createServer } from 'node:net';

/** Where a local registry is expected: `localhost:5000/app` is what people type. */
export const DEFAULT_REGISTRY_PORT = 5000;

/** How many ports after the preferred one are tried before the OS picks any free one. */
const NEXT_PORTS = 100;

/** True when nothing listens on 127.0.0.1:`port` (binding it for a moment succeeds). */
export type PortCheck = (port: number) => Promise<boolean>;

/**
 * The platform registry's port when none is saved yet: 5000 when free, else the next free one
 * (5001, 5002, … up to 5100), else any free port. `isFree` is injectable so that tests need not
 * own port 5000 on a shared machine. The caller saves the result (platform.json), so the port stays
 * the same across restarts even when 5000 is free again later.
 */
export async function chooseRegistryPort(options: { isFree?: PortCheck; preferred?: number } = {}): Promise<number> {
  const isFree = options.isFree ?? isLoopbackPortFree;
  const preferred = options.preferred ?? DEFAULT_REGISTRY_PORT;
  for (let port = preferred; port <= Math.min(preferred + NEXT_PORTS, 65535); port++) {
    if (await isFree(port)) return port;
  }
  return freeLoopbackPort();
}

export const isLoopbackPortFree: PortCheck = (port) =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(false) : reject(err)));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

/** Ports this process handed out already: one `platform up` picks several before any is bound. */
const handedOut = new Set<number>();

/**
 * A port on 127.0.0.1 that was free a moment ago (the OS picked it), never one this process handed
 * out before: each pick's socket is closed before the next, so the OS may pick the same port again
 * (a host's agent and builder would then be given one port). Kept from outgoing connections where
 * the services run in a network namespace (netns-ports.ts).
 */
export async function freeLoopbackPort(): Promise<number> {
  for (;;) {
    const port = await osPickedPort();
    if (!handedOut.has(port)) return handedOut.add(port), port;
  }
}

function osPickedPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}
