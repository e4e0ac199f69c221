import { readFileSync } from 'node:fs';
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

export const isLoopbackPortFree: PortCheck = (port) => isPortFree(port, '127.0.0.1');

/** Where the service ports of a host are chosen: above the well-known ones, below the kernel's ephemeral range. */
const SERVICE_PORTS_FROM = 20000;

/** Ports this process handed out already: one `platform up` picks several before any is bound. */
const handedOut = new Set<number>();

/**
 * A port for a service of the platform to listen on (NATS, its cluster route, the agent's and the
 * builder's TLS ports), saved in platform.json and bound a moment later by another process. It is
 * free on every address (a wildcard bind succeeds) and lies below the kernel's ephemeral range
 * (ip_local_port_range), which the OS hands to outgoing connections: a port picked there by
 * bind(0) can be taken by the next outgoing connection before the service binds it (a joining
 * host's agent once failed so, with EADDRINUSE). Never the same port twice in one process.
 */
export async function freeLoopbackPort(): Promise<number> {
  const below = ephemeralPortsFrom();
  for (let attempt = 0; attempt < 200 && below - SERVICE_PORTS_FROM >= 1000; attempt++) {
    const port = SERVICE_PORTS_FROM + Math.floor(Math.random() * (below - SERVICE_PORTS_FROM));
    if (handedOut.has(port)) continue;
    handedOut.add(port); // before the check: calls running at once never take the same one
    if (await isPortFree(port, '0.0.0.0')) return port;
    handedOut.delete(port);
  }
  for (;;) {
    const port = await osPickedPort();
    if (!handedOut.has(port)) return handedOut.add(port), port;
  }
}

/** The first port of the kernel's ephemeral range (32768 when it cannot be read). */
function ephemeralPortsFrom(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : 32768;
  } catch {
    return 32768; // not Linux: the IANA dynamic range starts at 49152, so this stays below it
  }
}

function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(false) : reject(err)));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** A port the OS picked (from its ephemeral range) that was free a moment ago. */
function osPickedPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '0.0.0.0', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}
