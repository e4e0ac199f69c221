import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '@berth/testing';

/**
 * A real Node process per case (tsx, as the services run): SIGTERM ends it with 0 once its stop
 * steps finish, and within the grace period, by the signal's default action, when they never
 * finish or when a thread-pool call would keep `process.exit` waiting for ever.
 */
const SERVICE = join(import.meta.dirname, 'testdata', 'stop-signals-service.ts');
let dir: TempDir;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => dir?.remove());

async function stopWithSigterm(mode: string, args: string[] = []) {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVICE, mode, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve) => child.stdout.on('data', (d) => ((out += d), out.includes('ready\n') && resolve())));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    await ready;
    const sent = Date.now();
    child.kill('SIGTERM');
    const { code, signal } = await exited;
    // The service's log events (JSON lines, as serviceLogger writes them), after its "ready".
    const events = out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { code, signal, ms: Date.now() - sent, events, msgs: events.map((e) => e.msg) };
  } finally {
    clearTimeout(watchdog);
  }
}

describe('stopOnSignals', () => {
  it('exits 0 once the stop steps are done', async () => {
    const r = await stopWithSigterm('quick');
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.msgs).toEqual(['Stopping', 'Stopped']);
    expect(r.events[0]).toMatchObject({ signal: 'SIGTERM' });
    expect(r.events[1]!.ms).toEqual(expect.any(Number));
  });

  it('ends the process by SIGTERM after the grace period when a stop step never finishes', async () => {
    const r = await stopWithSigterm('hang');
    expect(r).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(r.ms).toBeLessThan(5_000);
    expect(r.events).toContainEqual(expect.objectContaining({ msg: 'Did not stop within the grace period: exiting anyway', graceMs: 1_000 }));
  });

  it('does not wait for a thread-pool call that never returns (process.exit would)', async () => {
    const fifo = join(dir.path, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = await stopWithSigterm('fifo', [fifo]);
    expect(r).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(r.ms).toBeLessThan(5_000);
    expect(r.events).toContainEqual(
      expect.objectContaining({ msg: 'Stopped, with requests still pending: exiting without waiting for them', pending: ['FSReqPromise'] }),
    );
  });
});
