import { ContainersMethods } from '@berth/proto';
import { StatusError } from '../cli-errors.js';
import { unaryClient } from '../unary-clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { memorySwapOf } from '../resource-flags.js';
import { parseRestartPolicy } from './run.js';
import { forEachObject, out } from './shared.js';

/**
 * `berth update` (docker update): new resources or restart policy for containers, applied at once
 * to running ones. Prints each container as named, then the platform's warnings; failures are
 * collected as docker does.
 */
export async function update(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  if (p.changed.size === 0) throw new StatusError('you must provide one or more flags when using this command', 1);
  const num = (name: string) => (p.changed.has(name) ? (p.values[name] as number) : undefined);
  const restart = p.values.restart as string;
  const pidsLimit = num('pids-limit');
  const request = {
    memory: num('memory'),
    memorySwap: p.changed.has('memory-swap') ? memorySwapOf(p.values) : undefined,
    memoryReservation: num('memory-reservation'),
    nanoCpus: p.changed.has('cpus') ? Math.round((p.values.cpus as number) * 1e9) : undefined,
    cpuShares: num('cpu-shares'),
    cpusetCpus: p.changed.has('cpuset-cpus') ? (p.values['cpuset-cpus'] as string) : undefined,
    // docker: 0 means "leave it"
    pidsLimit: pidsLimit === 0 ? undefined : pidsLimit,
    // docker update prints a bad policy as a plain error (exit 1)
    restartPolicy: restart ? parseRestartPolicy(restart, (message) => new StatusError(message, 1)) : undefined,
  };
  const c = unaryClient(ctx, ContainersMethods);
  const warnings: string[] = [];
  try {
    return await forEachObject(ctx, p.args, async (id) => {
      const res = await c.update({ id, ...request });
      warnings.push(...res.warnings);
      return id;
    });
  } finally {
    if (warnings.length > 0) out(ctx, `${warnings.join('\n')}\n`);
  }
}
