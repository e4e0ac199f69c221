import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NatsConnection } from 'nats';
import { NatsMembersBucket } from '@berth/events';
import { checkMembership, isRunning, writeMemberNatsConfig } from '@berth/platform';
import type { Logger } from '@berth/log';

/** How long a lost watch waits before it is made again. */
const RETRY_MS = 2_000;

/**
 * On a host that joined a NATS cluster with a token (another machine), the agent keeps its own
 * nats-server's users and routes as the cluster's membership says (KV `nats-members`, written by
 * the first host's gateway after each join and `node rm`; libs/platform nats-membership.ts): at
 * every change it rewrites `configFile` (`<data root>/secrets/nats-server.conf`) and, when that
 * changed, has the server reload it (SIGHUP to the pid in `pidFile`, only while that pid still runs
 * the command recorded beside it: `nats.cmdline`, libs/platform platform.ts). So a host that
 * joins later is let in by every server, and a removed one's keys are let out everywhere.
 */
export function watchNatsConfig(nc: NatsConnection, options: { configFile: string; pidFile: string; log: Logger }): { stop: () => void } {
  const dataRoot = dirname(dirname(options.configFile));
  const bucket = new NatsMembersBucket(nc);
  let stopped = false;
  let current: { stop: () => void } | undefined;
  let retry: NodeJS.Timeout | undefined;

  const apply = (text: string) => {
    try {
      const membership = checkMembership(JSON.parse(text));
      if (!writeMemberNatsConfig(dataRoot, membership)) return;
      const reloaded = reloadNats(options.pidFile);
      options.log.info(
        { servers: membership.servers.map((s) => s.hostId), users: membership.users.length, reloaded },
        reloaded ? 'Rewrote nats-server.conf for the NATS cluster\'s membership and reloaded it' : 'Rewrote nats-server.conf for the NATS cluster\'s membership (nats-server is not running)',
      );
    } catch (err) {
      options.log.warn({ err }, 'Cannot apply the NATS cluster membership of KV nats-members');
    }
  };

  const watch = async () => {
    if (stopped) return;
    try {
      const w = await bucket.watch(apply);
      current = w;
      await w.ended;
    } catch (err) {
      options.log.warn({ err }, 'Cannot watch the NATS cluster membership (KV nats-members): trying again');
    }
    current = undefined;
    if (!stopped) retry = setTimeout(() => void watch(), RETRY_MS);
  };
  void watch();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(retry);
      current?.stop();
    },
  };
}

/** SIGHUP to the nats-server of `pidFile` when it is still the process started. @returns whether it was sent. */
function reloadNats(pidFile: string): boolean {
  const cmdlineFile = join(dirname(pidFile), 'nats.cmdline');
  if (!existsSync(pidFile) || !existsSync(cmdlineFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!(pid > 0) || !isRunning(pid, readFileSync(cmdlineFile, 'utf8').split('\0'))) return false;
  process.kill(pid, 'SIGHUP');
  return true;
}
