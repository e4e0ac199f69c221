import { writeSync } from 'node:fs';

/**
 * The process's standard output and error as the CLI writes to them (run-main.ts). Node makes
 * `process.stdout` at first use, and for a pipe or a terminal that is a net.Socket (a file: an
 * fs stream): node:net, node:stream and 20 more of Node's modules, ~6.5 ms of a command that only
 * prints a few lines (`ps`, `inspect`, `rm`; bench/README.md, "ps, inspect, rm: no node:net, no
 * node:stream"). So text goes out with write(2) on the descriptor while nothing has asked for the
 * stream; once something has (a command piping into it, reading `isTTY`, a stream of logs), all
 * of that descriptor's text goes through the stream, so that nothing it holds back is overtaken.
 *
 * What Node's stream would do is kept: Node writes a pipe, a file and a terminal synchronously on
 * Linux, and so does this; a descriptor that answers EAGAIN (non-blocking, shared with another
 * process) gets the rest of the text, and what follows, through the stream, which waits for it;
 * a closed pipe (EPIPE: `berth ps | head -1`) ends the command quietly with status 0, as for any
 * Unix tool, for either descriptor.
 */
export class StdOutput {
  private readonly streams = new Map<1 | 2, NodeJS.WriteStream>();

  /** `make`: Node's stream for a descriptor; `descriptor`: the one written for 1 or 2 (tests give others). */
  constructor(
    private readonly make: (fd: 1 | 2) => NodeJS.WriteStream = (fd) => (fd === 1 ? process.stdout : process.stderr),
    private readonly descriptor: (fd: 1 | 2) => number = (fd) => fd,
  ) {}

  /** Node's stream for `fd`, made now if need be (from then on the descriptor's text goes through it). */
  stream(fd: 1 | 2): NodeJS.WriteStream {
    let stream = this.streams.get(fd);
    if (stream === undefined) {
      stream = this.make(fd);
      stream.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') process.exit(0);
        throw err;
      });
      this.streams.set(fd, stream);
    }
    return stream;
  }

  /** Writes `text` to `fd` (1 or 2), whole, before returning unless the descriptor would block. */
  print(fd: 1 | 2, text: string): void {
    const stream = this.streams.get(fd);
    if (stream !== undefined) {
      stream.write(text);
      return;
    }
    let rest = Buffer.from(text);
    while (rest.length > 0) {
      try {
        rest = rest.subarray(writeSync(this.descriptor(fd), rest));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EINTR') continue;
        if (code === 'EPIPE') process.exit(0);
        if (code !== 'EAGAIN') throw err;
        this.stream(fd).write(rest);
        return;
      }
    }
  }
}
