import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConmon } from './conmon-process.js';

/**
 * A stand-in for conmon's double fork: the "daemon" (a background shell) replies on the sync pipe at
 * once, while the first process writes the pidfile only 300 ms later and then exits, as conmon's
 * does when it is scheduled late on a loaded host.
 */
const fakeConmon = `#!/bin/sh
pidfile="$1"
sh -c 'echo "{\\"data\\": 4242}" >&3; sleep 2' &
daemon=$!
sleep 0.3
echo "$daemon" > "$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
exit 0
`;

let dir: string;
let fake: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-conmon-process-'));
  fake = join(dir, 'fake-conmon');
  await writeFile(fake, fakeConmon);
  await chmod(fake, 0o755);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('runConmon', () => {
  it('answers the reply once conmon wrote its pidfile, also when the daemon replied first', async () => {
    const pidfile = join(dir, 'conmon.pid');
    const errFd = openSync(join(dir, 'conmon.log'), 'a');
    try {
      const reply = await runConmon(fake, [pidfile], { errFd, cwd: dir });
      // Read right away, as ConmonRuntime.create does: the pidfile must be there.
      expect({ reply, pidfile: existsSync(pidfile) }).toEqual({ reply: { data: 4242 }, pidfile: true });
      expect(Number(readFileSync(pidfile, 'utf8'))).toBeGreaterThan(0);
    } finally {
      closeSync(errFd);
    }
  });
});
