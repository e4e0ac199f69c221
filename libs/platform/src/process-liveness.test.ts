import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { commandLineOf, isAlive, isRunning, processState } from './process-liveness.js';

describe('process liveness', () => {
  it('sees a running process and the command it runs', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await once(child, 'spawn');
      expect(isAlive(child.pid!)).toBe(true);
      expect(commandLineOf(child.pid!)).toEqual(['sleep', '30']);
      expect(isRunning(child.pid!, ['sleep', '30'])).toBe(true);
      // A pid reused by another program (or the same one with other arguments) is not ours.
      expect(isRunning(child.pid!, ['sleep', '31'])).toBe(false);
      expect(isRunning(child.pid!, ['nats-server', '-c', '/x'])).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('treats a zombie as dead', async () => {
    // The shell's child exits at once; the shell (blocked reading its stdin) does not reap it.
    const shell = spawn('sh', ['-c', 'sleep 0 & echo $!; exec cat'], { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      const [line] = (await once(shell.stdout, 'data')) as [Buffer];
      const zombie = Number(line.toString().trim());
      const deadline = Date.now() + 5_000;
      while (processState(zombie) !== 'Z' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(processState(zombie)).toBe('Z');
      expect(isAlive(zombie)).toBe(false);
      expect(isRunning(zombie, ['sleep', '0'])).toBe(false);
      // kill(pid, 0) still succeeds on a zombie: the reason not to use it.
      expect(() => process.kill(zombie, 0)).not.toThrow();
    } finally {
      shell.kill('SIGKILL');
    }
  });

  it('knows a missing pid is not alive', () => {
    expect(isAlive(2 ** 22 + 1)).toBe(false);
    expect(processState(2 ** 22 + 1)).toBeUndefined();
  });
});
