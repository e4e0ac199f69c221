/**
 * End to end: declared state kept by the compose watcher (started by `berth platform up`). `up -d`
 * declares the project; a container removed by hand comes back with its name; `compose ls` shows
 * the declaration; `stop` pauses the keeping; `down` removes the declaration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBusyboxPlatform, type TestPlatform } from '@berth/testing';

let p: TestPlatform;
const dir = mkdtempSync(join(tmpdir(), 'berth-compose-watch-'));
const file = join(dir, 'compose.yaml');

beforeAll(async () => {
  writeFileSync(
    file,
    `services:
  app:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
    deploy: {replicas: 2}
`,
  );
  p = await startBusyboxPlatform();
}, 180_000);

afterAll(async () => {
  await p?.berth(['compose', '-f', file, '-p', 'kept', 'down', '-t', '1']).catch(() => undefined);
  await p?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const compose = (args: string[]) => p.berth(['compose', '-f', file, '-p', 'kept', ...args]);

async function running(): Promise<Map<string, string>> {
  const r = await compose(['ps', '--format', '{{.Name}} {{.ID}}', '--no-trunc']);
  return new Map(r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
}

/** Polls until `check` holds, or fails with what was last seen. */
async function eventually<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value instanceof Map ? [...value] : value)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('the compose watcher', () => {
  it('brings back a container of a declared project that was removed by hand', async () => {
    const up = await compose(['up', '-d']);
    expect(up.code, up.stderr).toBe(0);
    const before = await running();
    expect([...before.keys()].sort()).toEqual(['kept-app-1', 'kept-app-2']);
    const ls = await p.berth(['compose', 'ls']);
    expect(ls.stdout).toMatch(/kept\s+running\(2\)\s+\S+compose\.yaml\s+running/);
    const rm = await p.berth(['rm', '-f', 'kept-app-2']);
    expect(rm.code, rm.stderr).toBe(0);
    const after = await eventually('kept-app-2 back', running, (m) => m.has('kept-app-2') && m.get('kept-app-2') !== before.get('kept-app-2'));
    expect(after.get('kept-app-1')).toBe(before.get('kept-app-1'));
  });

  it('says which service it cannot bring back (an environment-sourced secret) and keeps the others, never showing the value', async () => {
    const secretFile = join(dir, 'secret.yaml');
    const token = `watch-token-${Date.now()}`;
    writeFileSync(
      secretFile,
      `services:
  app:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
    secrets: [token]
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
secrets:
  token: {environment: WATCH_TOKEN}
`,
    );
    const sec = (args: string[]) => p.berth(['compose', '-f', secretFile, '-p', 'kept2', ...args], { env: { WATCH_TOKEN: token } });
    try {
      const up = await sec(['up', '-d']);
      expect(up.code, up.stderr).toBe(0);
      for (const name of ['kept2-app-1', 'kept2-db-1']) expect((await p.berth(['rm', '-f', name])).code).toBe(0);
      const ps = await eventually('db back, app reported', () => sec(['ps', '--format', '{{.Name}}']), (r) => r.stdout.includes('kept2-db-1'));
      expect(ps.stdout).not.toContain('kept2-app-1');
      expect(ps.stderr).toContain(
        'service "app" of project "kept2" has 0 of 1 declared containers and the compose watcher cannot bring back the others: its secret "token" comes from environment variable "WATCH_TOKEN", whose value the declaration does not keep; run "berth compose up -d" to create it',
      );
      const log = await eventually('the watcher says why', async () => readFileSync(join(p.dataRoot, 'logs', 'compose-watcher.log'), 'utf8'), (text) => text.includes('cannot bring back'));
      expect(log).toContain('service \\"app\\" of project \\"kept2\\"');
      expect(log.includes(token)).toBe(false);
    } finally {
      await sec(['down', '-t', '0']);
    }
  });

  it('leaves a stopped project alone, and forgets it on down', async () => {
    expect((await compose(['stop', '-t', '1'])).code).toBe(0);
    expect((await p.berth(['compose', 'ls', '-a'])).stdout).toMatch(/kept\s+exited\(2\)\s+\S+\s+stopped/);
    expect((await compose(['rm', '-f'])).code).toBe(0);
    expect((await compose(['start'])).code).not.toBe(0); // nothing to start: the watcher did not recreate them
    const up = await compose(['up', '-d']);
    expect(up.code, up.stderr).toBe(0);
    const down = await compose(['down', '-t', '1']);
    expect(down.code, down.stderr).toBe(0);
    expect((await p.berth(['compose', 'ls', '-a'])).stdout).not.toContain('kept');
  });
});
