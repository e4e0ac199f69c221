import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NatsConnection } from 'nats';
import { NatsMembersBucket, type NatsMembersRecord } from '@berth/events';
import { checkMembership, isRunning, writeMemberNatsConfig } from '@berth/platform';
import type { Logger } from '@berth/log';

/** How long a lost watch waits before it is made again. */
const RETRY_MS = 2_000;

/** How often the membership is also read, in case the watch went silent (see `check`). */
const CHECK_MS = 3_000;

/**
 * On a host that joined a NATS cluster with a token (another machine), the agent keeps its own
 * nats-server's users and routes as the cluster's membership says (KV `nats-members`, written by
 * the first host's gateway after each join and `node rm`; libs/platform nats-membership.ts): at
 * every change it rewrites `configFile` (`<data root>/secrets/nats-server.conf`) and, when that
 * changed, has the server reload it (SIGHUP to the pid in `pidFile`, only while that pid still runs
 * the command recorded beside it: `nats.cmdline`, libs/platform platform.ts). So a host that
 * joins later is let in by every server, and a removed one's keys are let out everywhere.
 *
 * A change comes by the watch, and by a read every CHECK_MS: a watch whose consumer lived on a
 * nats-server that died stays silent until nats.js has missed two heartbeats (10 to 15 s) and made
 * it again, which waits for JetStream to elect new leaders (a full run saw a removed host's keys
 * still let in 20 s after `node rm`: its nats-server, just stopped, held the watch). A read that
 * finds a revision the watch has not delivered by the next read has the watch made again. Each
 * revision is applied once, and never one older than the last applied (the watch made again
 * replays from where it was).
 */
export function watchNatsConfig(nc: NatsConnection, options: { configFile: string; pidFile: string; log: Logger; checkMs?: number }): { stop: () => void } {
  const dataRoot = dirname(dirname(options.configFile));
  const bucket = new NatsMembersBucket(nc);
  let stopped = false;
  let current: { stop: () => void } | undefined;
  let retry: NodeJS.Timeout | undefined;
  /** The newest revision applied (or refused as no membership), and the newest the watch delivered. */
  let applied = 0;
  let watched = 0;
  let failedRevision = 0;

  const apply = (record: NatsMembersRecord) => {
    if (record.revision <= applied) return;
    let membership;
    try {
      membership = checkMembership(JSON.parse(record.text));
    } catch (err) {
      applied = record.revision; // not a membership: refused once, not at every read
      options.log.warn({ err, revision: record.revision }, 'Cannot apply the NATS cluster membership of KV nats-members');
      return;
    }
    try {
      const changed = writeMemberNatsConfig(dataRoot, membership);
      applied = record.revision;
      if (!changed) return;
      const reloaded = reloadNats(options.pidFile);
      options.log.info(
        { servers: membership.servers.map((s) => s.hostId), users: membership.users.length, revision: record.revision, reloaded },
        reloaded ? 'Rewrote nats-server.conf for the NATS cluster\'s membership and reloaded it' : 'Rewrote nats-server.conf for the NATS cluster\'s membership (nats-server is not running)',
      );
    } catch (err) {
      // Tried again at the next read; told once per revision.
      if (failedRevision !== record.revision) options.log.warn({ err, revision: record.revision }, 'Cannot apply the NATS cluster membership of KV nats-members');
      failedRevision = record.revision;
    }
  };

  const watch = async () => {
    if (stopped) return;
    try {
      const w = await bucket.watch((record) => {
        watched = Math.max(watched, record.revision);
        apply(record);
      });
      current = w;
      if (stopped) w.stop();
      await w.ended;
    } catch (err) {
      options.log.warn({ err }, 'Cannot watch the NATS cluster membership (KV nats-members): trying again');
    }
    current = undefined;
    if (!stopped) retry = setTimeout(() => void watch(), RETRY_MS);
  };

  let checking = false;
  let ahead = 0;
  let readFailing = false;
  const check = async () => {
    if (checking || stopped) return;
    checking = true;
    try {
      const record = await bucket.record();
      readFailing = false;
      if (!record) return;
      // Older than what was applied: the bucket was made anew (its revisions start again).
      if (record.revision < applied) applied = watched = 0;
      if (record.revision > watched && record.revision === ahead && current) {
        options.log.warn({ revision: record.revision, watched }, 'The watch of KV nats-members did not deliver the membership\'s last revision: watching anew');
        current.stop(); // its `ended` resolves: made again after RETRY_MS
      }
      ahead = record.revision > watched ? record.revision : 0;
      apply(record);
    } catch (err) {
      if (!readFailing) options.log.warn({ err }, 'Cannot read the NATS cluster membership (KV nats-members): trying again');
      readFailing = true;
    } finally {
      checking = false;
    }
  };
  const checker = setInterval(() => void check(), options.checkMs ?? CHECK_MS);
  checker.unref();

  void watch();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(retry);
      clearInterval(checker);
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
