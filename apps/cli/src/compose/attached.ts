import { shortName, stopContainer, type ComposeSession, type ObservedContainer } from '@berth/compose-controller';
import type { CommandContext } from '../context.js';
import { LogPrinter, streamLogs } from './log-printer.js';

/**
 * `compose up` without `-d`: follows the logs of the attached services' containers, interleaved
 * and prefixed, until they all exited. Ctrl-C stops the project's containers ("Gracefully
 * stopping..."), a second Ctrl-C kills them; `--abort-on-container-exit` (or `--exit-code-from`)
 * stops everything when the first container exits, `--abort-on-container-failure` when one fails.
 */

export interface AttachOptions {
  project: string;
  /** Containers whose logs are shown. */
  attached: ObservedContainer[];
  /** Every container of the run (stopped on Ctrl-C or abort). */
  all: ObservedContainer[];
  abortOnExit?: boolean;
  abortOnFailure?: boolean;
  /** The service whose container's exit code is the command's. */
  exitCodeFrom?: string;
  color: boolean;
  prefix: boolean;
  timestamps?: boolean;
  timeout?: number;
  /** Logs since this time (RFC 3339): what the containers printed since `up` began. */
  since: string;
}

export async function attachProject(ctx: CommandContext, s: ComposeSession, o: AttachOptions): Promise<number> {
  const printer = new LogPrinter(ctx.io.stdout, ctx.io.stderr, { color: o.color, prefix: o.prefix, timestamps: o.timestamps });
  const label = (c: ObservedContainer) => shortName(o.project, c.name);
  for (const c of o.attached) printer.add(label(c));
  printer.status(`Attaching to ${o.attached.map((c) => c.name).join(', ')}`);
  const controller = new AbortController();
  let exitCode = 0;
  let stopping: Promise<void> | undefined;
  let interrupted = 0;

  const stopAll = (kill: boolean): Promise<void> => {
    const quiet = { ...s, progress: () => undefined };
    // stopping on Ctrl-C: a container already gone is stopped
    const running = o.all.map((c) => (kill ? s.engine.killContainer(c.id).catch(() => undefined) : stopContainer(quiet, c, { timeout: o.timeout }).catch(() => undefined)));
    return Promise.all(running).then(() => undefined);
  };

  const onSignal = () => {
    interrupted++;
    if (interrupted === 1) {
      ctx.io.stderr.write('Gracefully stopping... (press Ctrl+C again to force)\n');
      stopping = stopAll(false);
      exitCode = 130;
    } else {
      ctx.io.stderr.write('Killing...\n');
      stopping = stopAll(true);
    }
  };
  ctx.io.signals?.on('SIGINT', onSignal);
  ctx.io.signals?.on('SIGTERM', onSignal);
  ctx.cleanup.push(() => {
    ctx.io.signals?.off('SIGINT', onSignal);
    ctx.io.signals?.off('SIGTERM', onSignal);
  });

  let aborted = false;
  await Promise.all(
    o.attached.map(async (c) => {
      const logs = streamLogs(ctx, printer, { id: c.id, label: label(c) }, { follow: true, since: o.since, timestamps: o.timestamps, signal: controller.signal });
      // aborted (Ctrl-C) or the container removed: nothing to report
      const code = await s.engine.waitContainer(c.id, { signal: controller.signal }).catch(() => undefined);
      await logs.catch(() => undefined); // the log ends with the container; its errors change nothing here
      if (code === undefined || controller.signal.aborted) return;
      printer.status(`${label(c)} exited with code ${code}`);
      if (o.exitCodeFrom && c.service === o.exitCodeFrom) exitCode = code;
      const abort = o.abortOnExit || o.exitCodeFrom !== undefined || (o.abortOnFailure && code !== 0);
      if (abort && !aborted && interrupted === 0) {
        aborted = true;
        if (!o.exitCodeFrom) exitCode = code;
        printer.status('Aborting on container exit...');
        stopping = stopAll(false);
        await stopping;
      }
    }),
  );
  controller.abort();
  await stopping;
  return exitCode;
}
