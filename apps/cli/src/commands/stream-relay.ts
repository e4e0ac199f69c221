import type { ClientDuplexStream } from '@grpc/grpc-js';
import { fromServiceError, type StreamInput, type StreamOutput } from '@berth/proto';
import type { CommandContext } from '../context.js';

/**
 * Relays an Attach or Exec bidi stream to the terminal: stdout and stderr kept apart, stdin (with
 * -i) forwarded and closed with `close_stdin` at its end, the local terminal in raw mode and
 * resizes sent (with -t), and, without a TTY, SIGINT/SIGTERM handed to `onSignal` (docker's
 * --sig-proxy). Resolves when the server ends the stream, with the exit code it sent last.
 */
export interface RelayOptions {
  stdin: boolean;
  tty: boolean;
  onSignal?: (signal: NodeJS.Signals) => void;
}

export interface RelayResult {
  exitCode?: number;
  execId?: string;
}

export function relayStream(
  ctx: CommandContext,
  call: ClientDuplexStream<StreamInput, StreamOutput>,
  first: StreamInput,
  options: RelayOptions,
): Promise<RelayResult> {
  const { io } = ctx;
  return new Promise((resolve, reject) => {
    const result: RelayResult = {};
    const undo: Array<() => void> = [];
    let done = false;
    const finish = (settle: () => void) => {
      if (done) return;
      done = true;
      for (const fn of undo.reverse()) fn();
      call.end();
      settle();
    };

    const forward = (stream: NodeJS.WritableStream, data: Buffer) => {
      if (!stream.write(data)) {
        call.pause();
        stream.once('drain', () => call.resume());
      }
    };
    call.on('data', (message: StreamOutput) => {
      const output = message.output;
      if (!output) return;
      switch (output.$case) {
        case 'stdout':
          forward(io.stdout, output.value);
          break;
        case 'stderr':
          forward(io.stderr, output.value);
          break;
        case 'exitCode':
          result.exitCode = output.value;
          break;
        case 'execId':
          result.execId = output.value;
          break;
      }
    });
    call.on('error', (err) => finish(() => reject(fromServiceError(err))));
    call.on('end', () => finish(() => resolve(result)));

    call.write(first);

    if (options.tty && io.stdout.isTTY) {
      const sendSize = () => call.write({ input: { $case: 'resize', value: { rows: io.stdout.rows || 24, cols: io.stdout.columns || 80 } } });
      sendSize();
      io.stdout.on('resize', sendSize);
      undo.push(() => io.stdout.off('resize', sendSize));
    }

    if (options.stdin) {
      const stdin = io.stdin;
      if (options.tty && stdin.isTTY && stdin.setRawMode) {
        stdin.setRawMode(true);
        undo.push(() => stdin.setRawMode?.(false));
      }
      const onData = (chunk: Buffer | string) => {
        if (!done) call.write({ input: { $case: 'stdin', value: Buffer.from(chunk) } });
      };
      const onEnd = () => {
        if (!done) call.write({ input: { $case: 'closeStdin', value: true } });
      };
      stdin.on('data', onData);
      stdin.once('end', onEnd);
      stdin.resume();
      undo.push(() => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.pause();
      });
    }

    if (options.onSignal && io.signals) {
      const signals = io.signals;
      const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
        const handler = () => options.onSignal!(signal);
        signals.on(signal, handler);
        return () => signals.off(signal, handler);
      });
      undo.push(...handlers);
    }
  });
}
