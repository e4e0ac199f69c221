import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { ConflictError, InvalidArgumentError } from '@berth/errors';
import { applyRules, removeRules, type NatState } from './nat-rules.js';
import type { NetworkContext } from './network-context.js';
import { ephemeralPortRange, splitPortKey, type PortMap } from './port-spec.js';
import { hasBridge, type ActivePort, type SandboxRecord } from './types.js';

/**
 * Published ports and the agent's iptables rules: host ports are chosen and checked here, and the
 * whole rule set (DNAT of published ports, masquerading, isolation between networks) is rendered
 * from the network tables and applied by nat-rules.ts after every change.
 */
export class PortPublisher {
  /** The rules last programmed (their NatState as JSON); undefined when unknown. */
  private applied: string | undefined;

  constructor(private readonly ctx: NetworkContext) {}

  /**
   * Host ports for the container's bindings (and, with `-P`, every exposed port): fixed ones are
   * checked, `""` and ranges get a free port (Docker's 49153–65535). A port held by another
   * container or by any socket on the host is a ConflictError with Docker's wording.
   */
  async allocate(sandbox: SandboxRecord, containerIp: string): Promise<ActivePort[]> {
    const bindings: PortMap = structuredClone(sandbox.PortBindings);
    if (sandbox.PublishAllPorts) {
      for (const key of sandbox.ExposedPorts) bindings[key] ??= [{ HostIp: '', HostPort: '' }];
    }
    const taken = this.ctx.store
      .sandboxes()
      .filter((s) => s.ContainerID !== sandbox.ContainerID)
      .flatMap((s) => s.Ports);
    const result: ActivePort[] = [];
    const clash = (proto: string, ip: string, port: number) =>
      [...taken, ...result].some((p) => splitPortKey(p.key)[1] === proto && p.hostPort === port && (p.hostIp === '0.0.0.0' || ip === '0.0.0.0' || p.hostIp === ip));
    for (const key of Object.keys(bindings).sort((a, b) => splitPortKey(a)[0] - splitPortKey(b)[0])) {
      const [, proto] = splitPortKey(key);
      for (const binding of bindings[key]!) {
        const hostIp = binding.HostIp || '0.0.0.0';
        let port: number | undefined;
        if (/^\d+$/.test(binding.HostPort)) {
          port = Number(binding.HostPort);
          const problem = clash(proto, hostIp, port) ? 'EADDRINUSE' : await bindError(proto, hostIp, port);
          if (problem === 'EADDRINUSE') {
            throw new ConflictError(`Bind for ${hostIp}:${port} failed: port is already allocated`, { code: 'PORT_ALLOCATED' });
          }
          if (problem) throw new InvalidArgumentError(`Bind for ${hostIp}:${port} failed: ${problem}`);
        } else {
          const [first, last] = binding.HostPort ? binding.HostPort.split('-').map(Number) as [number, number] : [ephemeralPortRange.first, ephemeralPortRange.last];
          const span = last - first + 1;
          const offset = binding.HostPort ? 0 : Math.floor(Math.random() * span);
          for (let i = 0; i < span && port === undefined; i++) {
            const candidate = first + ((offset + i) % span);
            if (!clash(proto, hostIp, candidate) && (await bindError(proto, hostIp, candidate)) === undefined) port = candidate;
          }
          if (port === undefined) {
            throw new ConflictError(`Bind for ${hostIp}:${binding.HostPort || `${first}-${last}`} failed: no free port in the range`, { code: 'PORT_ALLOCATED' });
          }
        }
        result.push({ key, hostIp, hostPort: port, containerIp });
      }
    }
    return result;
  }

  /**
   * Programs the rules the network tables call for now (bridges, published ports). Skipped when
   * they are the ones this publisher programmed last, unless `force` (the agent's open and sweep
   * check the host again): a container without published ports changes no rule, and its start and
   * exit then spawn no iptables (5–6 processes, taking the xtables lock other agents wait on too).
   */
  async apply(options: { force?: boolean } = {}): Promise<void> {
    const state: NatState = { networks: [], ports: [] };
    for (const n of this.ctx.store.networks()) {
      if (!hasBridge(n) || !n.BridgeName) continue;
      state.networks.push({ bridge: n.BridgeName, subnet: n.IPAM.Config[0]!.Subnet, internal: n.Internal });
    }
    for (const s of this.ctx.store.sandboxes()) {
      for (const p of s.Ports) {
        const [containerPort, proto] = splitPortKey(p.key);
        state.ports.push({ proto, hostIp: p.hostIp, hostPort: p.hostPort, containerIp: p.containerIp, containerPort });
      }
    }
    const key = JSON.stringify(state);
    if (!options.force && key === this.applied) return;
    this.applied = undefined; // a failure below leaves the host unknown: the next call programs again
    await applyRules(this.ctx.tag, state);
    this.applied = key;
  }

  /** Removes every rule of this agent (final teardown). */
  async removeAll(): Promise<void> {
    this.applied = undefined;
    await removeRules(this.ctx.tag);
  }
}

/** Why a socket could not bind `ip:port` right now (`EADDRINUSE`, ...), undefined when it could. */
async function bindError(proto: string, ip: string, port: number): Promise<string | undefined> {
  const code = (err: Error) => (err as NodeJS.ErrnoException).code ?? err.message;
  if (proto === 'udp') {
    const socket = createSocket('udp4');
    return new Promise((resolve) => {
      socket.once('error', (err) => {
        socket.close();
        resolve(code(err));
      });
      socket.bind(port, ip, () => socket.close(() => resolve(undefined)));
    });
  }
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', (err) => resolve(code(err)));
    server.listen({ port, host: ip, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
