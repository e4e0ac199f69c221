import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { platformDown } from './platform.js';
import { platformSettings } from './platform-settings.js';

const dirs: string[] = [];
const pids: number[] = [];
afterEach(() => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // stopped by the test, as it should be
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-platform-down-'));
  dirs.push(dir);
  return dir;
};

describe('platform down', () => {
  it("stops a joined host's services when the first host's data root is gone", async () => {
    const first = tempDir();
    const second = tempDir();
    await platformSettings({ dataRoot: first });
    const joined = await platformSettings({ dataRoot: second, join: first });
    rmSync(first, { recursive: true, force: true }); // the first machine died, or its root was removed first
    // A process standing for the host's agent, recorded as `up` records it: pid and command line.
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    pids.push(child.pid!);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    mkdirSync(join(joined.runRoot, 'platform'), { recursive: true });
    writeFileSync(join(joined.runRoot, 'platform', 'runtime-agent.pid'), `${child.pid}\n`);
    writeFileSync(join(joined.runRoot, 'platform', 'runtime-agent.cmdline'), ['sleep', '60'].join('\0'));

    await platformDown({ dataRoot: second });

    await exited;
    expect(existsSync(join(joined.runRoot, 'platform', 'runtime-agent.pid'))).toBe(false);
    expect(existsSync(first)).toBe(false); // nothing made again where the first host was
  });
});
