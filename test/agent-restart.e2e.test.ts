/**
 * Containers outlive the runtime agent: conmon keeps them running, logging and recording their
 * exit code while the agent is down; the next agent adopts them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { platformUp } from '@berth/platform';
import { startBusyboxPlatform, processExists, waitForProcessExit, type TestPlatform, signalProcess } from '@berth/testing';

let p: TestPlatform;

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(() => p?.stop());

it('keeps a container running while the agent is killed, and collects its exit code afterwards', async () => {
  const id = (
    await p.berth(['run', '-d', '--name', 'survivor', 'busybox', 'sh', '-c', 'for i in $(seq 1 25); do echo tick $i; sleep 0.2; done; exit 7'])
  ).stdout.trim();
  const pid = Number((await p.berth(['inspect', '--format', '{{.State.Pid}}', id])).stdout.trim());
  expect(pid).toBeGreaterThan(0);

  const agentPidFile = join(p.settings.runRoot, 'platform', 'runtime-agent.pid');
  const agentPid = Number(readFileSync(agentPidFile, 'utf8'));
  signalProcess(agentPid, 'SIGKILL');
  await waitForProcessExit(agentPid);
  expect(processExists(pid)).toBe(true); // the container did not notice

  await platformUp({ dataRoot: p.dataRoot });
  const state = (await p.berth(['inspect', '--format', '{{.State.Status}}', id])).stdout.trim();
  // Still running, unless it finished in the meantime (a slow machine): then it must be exited 7.
  expect(['running', 'exited']).toContain(state);
  const wait = await p.berth(['wait', id]);
  expect(wait.stdout.trim()).toBe('7');
  const logs = await p.berth(['logs', id]);
  expect(logs.stdout.trim().split('\n')).toHaveLength(25);
  expect(logs.stdout).toContain('tick 25');
  expect((await p.berth(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', id])).stdout.trim()).toBe('exited 7');
});
