/**
 * `berth platform logs` (issue 10, "Logs and failures that are seen") against a real platform at
 * debug level: the services' JSON lines pretty-printed and interleaved, one service's alone, -f
 * seeing a line appended, an unknown service refused; and a `-e` value never reaching the agent's
 * log (the agent logs each create at debug, its options censored by the service logger).
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERTH_CLI, serviceLogEvents, startTestPlatform, type TestPlatform } from '@berth/testing';

let p: TestPlatform;
const logs = (args: string[]) => p.berth(['platform', 'logs', '--data-root', p.dataRoot, ...args]);

beforeAll(async () => {
  p = await startTestPlatform({ logLevel: 'debug' });
  expect((await p.berth(['image', 'bootstrap', 'busybox'])).code).toBe(0);
}, 180_000);

afterAll(async () => {
  await p?.stop();
});

describe('berth platform logs', () => {
  it('interleaves every service by time, each line prefixed with its service and pretty-printed', async () => {
    const out = await logs([]);
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    const agent = lines.find((l) => l.includes('berth runtime agent listening'));
    expect(agent).toMatch(new RegExp(`^runtime-agent +\\| \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z INFO  berth runtime agent listening host=${p.settings.hostId} address=unix:`));
    expect(lines.some((l) => /^api +\| .* INFO  berth-api listening /.test(l))).toBe(true);
    expect(lines.some((l) => /^nats +\| \[\d+\] /.test(l))).toBe(true); // nats-server's own lines, as written
    expect(lines.some((l) => l.startsWith('{') || l.includes('| {"level"'))).toBe(false);
    // By time: the agent started before the gateway (compose/platform/compose.yaml's order).
    expect(lines.findIndex((l) => l.includes('berth runtime agent listening'))).toBeLessThan(lines.findIndex((l) => l.includes('berth-api listening')));
  });

  it('shows one service alone, raw or from its tail', async () => {
    const raw = await logs(['runtime-agent', '--raw', '--tail', '1']);
    expect(raw.code, raw.stderr).toBe(0);
    const lines = raw.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ service: 'runtime-agent', level: expect.any(String), msg: expect.any(String) });
  });

  it('refuses an unknown service, naming the valid ones', async () => {
    const out = await logs(['nope']);
    expect(out.code).toBe(1);
    expect(out.stderr).toBe('Error: No such service "nope": expected one of nats, runtime-agent, api, builder, compose-watcher, registry\n');
    expect(out.stdout).toBe('');
  });

  it('follows with -f: a container created afterwards shows up, its -e values censored', async () => {
    const follower = spawn(BERTH_CLI, ['platform', 'logs', '-f', '--tail', '0', '--data-root', p.dataRoot, 'runtime-agent'], { env: p.env });
    let out = '';
    follower.stdout.on('data', (d) => (out += d));
    const exited = new Promise((resolve) => follower.once('exit', resolve));
    try {
      // --tail 0 shows only lines written after the follower opened the log, and it may still be
      // starting: create containers until one of them shows up (each waited for up to 3 s).
      const ids: string[] = [];
      const deadline = Date.now() + 30_000;
      let id: string | undefined;
      for (let n = 0; id === undefined; n++) {
        if (Date.now() > deadline) throw new Error(`no line about containers ${ids.join(', ')} in the followed log:\n${out}`);
        const created = await p.berth(['create', '--name', `logged${n}`, '-e', 'PASSWORD=hunter2-do-not-log', '-e', 'OTHER=also-secret', 'busybox', 'true']);
        expect(created.code, created.stderr).toBe(0);
        ids.push(created.stdout.trim());
        const waitUntil = Date.now() + 3_000;
        while ((id = ids.find((i) => out.includes(`container=${i}`))) === undefined && Date.now() < waitUntil) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, waitUntil - Date.now());
            follower.stdout.once('data', () => (clearTimeout(timer), resolve()));
          });
        }
      }
      expect(out).toMatch(new RegExp(`^\\S+Z DEBUG Container created container=${id} image=busybox options=.*"env":"\\[redacted\\]"`, 'm'));
      // Nowhere in the agent's log, at any level.
      const agentLog = JSON.stringify(serviceLogEvents(p.dataRoot, 'runtime-agent'));
      expect(agentLog).toContain(id);
      expect(agentLog).not.toContain('hunter2-do-not-log');
      expect(agentLog).not.toContain('also-secret');
    } finally {
      follower.kill('SIGINT');
      await exited;
    }
  });
});
