import { normalizeProjectName, type Project } from '@berth/compose';
import { formatTimings, GatewayEngine, EngineHealthWaiter, timedEngine, type ComposeSession, type Engine } from '@berth/compose-controller';
import { isBerthError } from '@berth/errors';
import { channelCredentials } from '../clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { projectFromFlags } from '../commands/compose-config.js';
import { ProgressPrinter } from './progress-printer.js';

/** What the compose commands share: the controller session and the project the flags name. */

export function warn(ctx: CommandContext, text: string): void {
  ctx.io.stderr.write(`WARN[0000] ${text}\n`);
}

/** A controller session over the gateway for this command; closed when the command ends. */
export function composeSession(ctx: CommandContext, options: { quiet?: boolean } = {}): ComposeSession {
  const gateway = new GatewayEngine(ctx.host, { env: ctx.io.env as NodeJS.ProcessEnv, credentials: channelCredentials(ctx) });
  let engine: Engine = gateway;
  // BERTH_COMPOSE_TIMINGS=1: what each gateway call cost, printed when the command ends (profiling).
  if (ctx.io.env.BERTH_COMPOSE_TIMINGS) {
    const timed = timedEngine(gateway);
    engine = timed.engine;
    const began = performance.now();
    ctx.cleanup.push(() => ctx.io.stderr.write(`${formatTimings(timed.timings)}\nwall ${(performance.now() - began).toFixed(0)} ms\n`));
  }
  ctx.cleanup.push(() => gateway.close());
  return {
    engine,
    health: new EngineHealthWaiter(engine),
    progress: new ProgressPrinter(ctx.io.stderr, options).event,
    warn: (text) => warn(ctx, text),
  };
}

/** The project of the command line: its model, or (`-p name` and no Compose file) only its name. */
export interface ProjectTarget {
  name: string;
  model?: Project;
}

export async function loadModel(ctx: CommandContext, p: ParsedArgs, services?: string[]): Promise<Project> {
  return projectFromFlags(ctx, p, { services: services && services.length > 0 ? services : undefined });
}

/**
 * As compose v2 for commands that work on what runs (down, ps, logs, stop, …): the Compose file
 * when there is one, else the project named by `-p` / COMPOSE_PROJECT_NAME from the labels alone.
 */
export async function projectTarget(ctx: CommandContext, p: ParsedArgs): Promise<ProjectTarget> {
  try {
    const model = await loadModel(ctx, p);
    return { name: model.name, model };
  } catch (err) {
    const named = (p.values['project-name'] as string) || ctx.io.env.COMPOSE_PROJECT_NAME;
    if (named && isBerthError(err) && err.code === 'COMPOSE_FILE_NOT_FOUND' && (p.values['file'] as string[]).length === 0) {
      // Normalized the way the loader does, so `-p My_App` finds `my_app`'s containers.
      return { name: normalizeProjectName(named) };
    }
    throw err;
  }
}
