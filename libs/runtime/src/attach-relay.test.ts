import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '@berth/subprocess';
import { demuxFrames, ensureAttachRelay } from './attach.js';

/**
 * A stand-in for conmon's attach socket (Node cannot serve SOCK_SEQPACKET): it accepts one
 * connection, says `input` once input from the relay is queued, which it never reads, and on a line
 * on its stdin sends one stdout and one stderr packet and closes, saying `closed`. Closing a
 * socket with input unread makes the kernel report ECONNRESET to the relay before the packets still
 * queued for it, as conmon does after an exec on a terminal whose process exited at once.
 */
const fakeConmon = `
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(int argc, char **argv) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, argv[1], sizeof(addr.sun_path) - 1);
  int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  if (l < 0 || bind(l, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(l, 1) < 0) return 1;
  printf("listening\\n");
  fflush(stdout);
  int c = accept(l, NULL, NULL);
  struct pollfd p = {.fd = c, .events = POLLIN};
  if (c < 0 || poll(&p, 1, -1) != 1) return 1;
  printf("input\\n");
  fflush(stdout);
  char line[16];
  if (!fgets(line, sizeof(line), stdin)) return 1;
  if (send(c, "\\2out\\n", 5, 0) != 5 || send(c, "\\3err\\n", 5, 0) != 5) return 1;
  close(c);
  printf("closed\\n");
  fflush(stdout);
  return 0;
}
`;

let dir: string;
let fakePath: string;
let relayPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-relay-'));
  await writeFile(join(dir, 'fake-conmon.c'), fakeConmon);
  fakePath = join(dir, 'fake-conmon');
  const cc = await runCommand('gcc', ['-O2', '-Wall', '-o', fakePath, join(dir, 'fake-conmon.c')]);
  expect(cc.code, cc.stderr.toString()).toBe(0);
  relayPath = await ensureAttachRelay(join(dir, 'bin'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Resolves with the next line `child` prints. */
function lines(child: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => (waiting.length > 0 ? waiting.shift()!(line) : queue.push(line)));
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiting.push(resolve)));
}

describe('berth-attach (the attach relay)', () => {
  it('relays the output still queued when conmon closes with input of ours unread (ECONNRESET first)', async () => {
    const socket = join(dir, 'attach');
    const fake = spawn(fakePath, [socket], { stdio: ['pipe', 'pipe', 'inherit'] });
    let relay: ChildProcess | undefined;
    try {
      const fakeSays = lines(fake);
      // The relay connects only once the fake listens: started together, a relay that came first
      // found no socket, exited 1, and the test waited for 'input' until it timed out (CI#16).
      expect(await fakeSays()).toBe('listening');
      relay = spawn(relayPath, ['--ready-fd=3', socket], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
      // The relay is held stopped while the fake conmon answers and closes: it then finds the
      // packets and the reset at once, as when conmon exits between two of its reads.
      relay.stdin!.write('\0');
      expect(await fakeSays()).toBe('input');
      relay.kill('SIGSTOP');
      fake.stdin!.write('go\n');
      expect(await fakeSays()).toBe('closed');
      relay.kill('SIGCONT');
      const frames: string[] = [];
      for await (const f of demuxFrames(relay.stdout!)) frames.push(`${f.stream}:${f.data.toString()}`);
      const [code] = (await (relay.exitCode === null ? once(relay, 'exit') : [relay.exitCode])) as [number | null];
      expect({ frames, code }).toEqual({ frames: ['stdout:out\n', 'stderr:err\n'], code: 0 });
    } finally {
      relay?.kill('SIGKILL');
      fake.kill('SIGKILL');
    }
  });
});
