/**
 * The loopback guard against the real kernel. The guard is host-global, and this machine is shared
 * with other Berth platforms (test runs of other engineers) whose bridges keep it installed, so the
 * scenario runs in a private network namespace of its own (testdata/loopback-guard-scenario.ts): there
 * it is the only Berth, and "installed", "kept" and "removed" can be asserted exactly. A raw-socket
 * probe (testdata/syn-probe.c, compiled here) plays the hostile container. Whatever fails, afterEach
 * kills the processes of the namespaces and deletes them (their links and rules go with them).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { renderLoopbackGuard } from './loopback-guard.js';

const repoRoot = resolve(import.meta.dirname, '../../..');
let dir: string;
let probe: string;
const namespaces: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-guard-'));
  probe = join(dir, 'syn-probe');
  const gcc = spawnSync('gcc', ['-O2', '-static', '-o', probe, join(import.meta.dirname, 'testdata', 'syn-probe.c')], { encoding: 'utf8' });
  expect(gcc.status, gcc.stderr).toBe(0);
  return () => rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  for (const ns of namespaces.splice(0)) {
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    spawnSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
  }
});

/** Runs the scenario in a fresh netns; @returns its observations. */
async function runScenario(tags: [string, string]): Promise<Record<string, unknown>> {
  const host = `berth-guardtest-${tags[0]}`;
  namespaces.push(host, `berth-guardtest-lan-${tags[0]}`, ...tags.map((t) => `berth-${t}-${'c'.repeat(12)}`));
  expect(spawnSync('ip', ['netns', 'add', host]).status).toBe(0);
  expect(spawnSync('ip', ['-n', host, 'link', 'set', 'lo', 'up']).status).toBe(0);
  const script = join(import.meta.dirname, 'testdata', 'loopback-guard-scenario.ts');
  const loader = join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs');
  const child = spawn('ip', ['netns', 'exec', host, process.execPath, '--import', loader, script, dir, probe, ...tags], {
    env: { ...process.env, TSX_TSCONFIG_PATH: join(repoRoot, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('loopback guard', () => {
  it("is Kubernetes' rule for CVE-2020-8558, in a chain of its own, with a comment naming it", () => {
    expect(renderLoopbackGuard()).toBe(
      [
        '*filter',
        ':BERTH-LOOPBACK - [0:0]',
        `-A BERTH-LOOPBACK -d 127.0.0.0/8 ! -i lo -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -m comment --comment "berth: containers cannot reach the host's loopback (CVE-2020-8558)" -j DROP`,
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('keeps a container off the host loopback, not published ports; survives restarts; goes with the last bridge', async () => {
    const tags: [string, string] = [randomBytes(4).toString('hex'), randomBytes(4).toString('hex')];
    const observed = await runScenario(tags);
    expect(observed).toMatchObject({
      guardBeforeAnyBridge: false,
      guardAfterOpen: true,
      routeLocalnet: '1',
      // The raw SYN to 127.0.0.1 through the bridge gets no answer; the same probe to the gateway
      // address, same port, does; and without the guard 127.0.0.1 answers too (the test can fail).
      loopbackGuarded: 'no answer',
      gatewayGuarded: 'SYN-ACK',
      loopbackUnguarded: 'SYN-ACK',
      publishedPort: 'hello from web',
      lanToLoopbackPublished: 'no answer',
      guardAfterRestart: true,
      loopbackAfterRestart: 'no answer',
      guardWhileAnotherAgentHasABridge: true,
      guardAfterLastBridge: false,
    });
    expect(observed.linksLeft).toEqual(['lo']);
  });
});
