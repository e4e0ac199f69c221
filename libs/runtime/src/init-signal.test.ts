import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signalInit } from './init-signal.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A runtime root holding `state.json` for container `c1` (what runc writes: init pid and its start time). */
function runtimeRoot(state: Record<string, unknown> | string): string {
  const root = mkdtempSync(join(tmpdir(), 'init-signal-'));
  dirs.push(root);
  mkdirSync(join(root, 'c1'));
  writeFileSync(join(root, 'c1', 'state.json'), typeof state === 'string' ? state : JSON.stringify(state));
  return root;
}

function startTime(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

describe('signalInit', () => {
  it('signals the init recorded by the runtime, and never a process that merely has its pid now', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const pid = child.pid!;
    // Same pid, another start time: a reused pid, as after the container's init died long ago.
    expect(await signalInit(runtimeRoot({ init_process_pid: pid, init_process_start: startTime(pid) + 1 }), 'c1', 15)).toBe('not-running');
    expect(child.exitCode).toBeNull();
    expect(await signalInit(runtimeRoot({ init_process_pid: pid, init_process_start: startTime(pid) }), 'c1', 15)).toBe('sent');
    expect(await exited).toBe('SIGTERM');
    // Gone: runc's "container not running".
    expect(await signalInit(runtimeRoot({ init_process_pid: pid, init_process_start: 1 }), 'c1', 15)).toBe('not-running');
  });

  it('says when the runtime has no such container, or a state it cannot read (the caller asks runc then)', async () => {
    expect(await signalInit(runtimeRoot({}), 'other', 15)).toBe('missing');
    expect(await signalInit(runtimeRoot('{not json'), 'c1', 15)).toBe('unknown');
    expect(await signalInit(runtimeRoot({ init_process_pid: 'x' }), 'c1', 15)).toBe('unknown');
  });
});
