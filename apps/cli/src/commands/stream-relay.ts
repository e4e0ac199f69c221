import { type ContainersMethods, StreamInput, StreamOutput } from '@berth/proto';
import type { CommandContext } from '../context.js';
import { placementMetadata } from '../placement-metadata.js';
import { duplexMethod, unaryTransport, type MethodsOf } from '../unary-clients.js';
import type { DuplexCall } from '../unary-transport.js';

/**
 * Relays an Attach or Exec bidi stream to the terminal: stdout and stderr kept apart, stdin (with
 * -i) forwarded and closed with `close_stdin` at its end, the local terminal in raw mode and
 * resizes sent (with -t), and, without a TTY, SIGINT/SIGTERM handed to `onSignal` (docker's
 * --sig-proxy). Resolves when the server ends the stream, with the exit code it sent last.
 *
 * The stream goes over unary-transport.ts's DuplexCall (Node's http2), not @grpc/grpc-js: `run`,
 * `attach`, `exec` and `start -a` load no grpc-js (bench/README.md, "attached `run --rm`").
 */
export interface RelayOptions {
  stdin: boolean;
  tty: boolean;
  onSignal?: (signal: NodeJS.Signals) => void;
  /** Each answer before the relay reads it (RunAttached answers the container it created first). */
  onMessage?: (message: StreamOutput) => void;
  /** Stdin and terminal sizes are sent only once the server has answered (RunAttached's `created`). */
  holdInput?: boolean;
}

export interface RelayResult {
  exitCode?: number;
  execId?: string;
}

export type ContainerStream = DuplexCall<StreamInput, StreamOutput>;

// By name (unary-clients.ts `duplexMethod`): `run` and `exec` load the code of these two messages, not every Containers message.
export const Streams = {
  attach: duplexMethod('/berth.v1.Containers/Attach', StreamInput, StreamOutput),
  exec: duplexMethod('/berth.v1.Containers/Exec', StreamInput, StreamOutput),
  runAttached: duplexMethod('/berth.v1.Containers/RunAttached', StreamInput, StreamOutput),
} satisfies MethodsOf<ContainersMethods>;

/** An Attach or Exec call to the gateway, with the command's placement metadata. */
export function containerStream(ctx: CommandContext, kind: keyof typeof Streams): ContainerStream {
  const method = Streams[kind];
  return unaryTransport(ctx).duplex(method, { metadata: placementMetadata(ctx, method.path) });
}

/** The size of the terminal on stdout, as docker's client sends it (none when stdout is no terminal). */
export function terminalSize(ctx: CommandContext): { rows: number; cols: number } | undefined {
  const { stdout } = ctx.io;
  return stdout.isTTY ? { rows: stdout.rows || 24, cols: stdout.columns || 80 } : undefined;
}

export async function relayStream(ctx: CommandContext, call: ContainerStream, first: StreamInput, options: RelayOptions): Promise<RelayResult> {
  const { io } = ctx;
  const result: RelayResult = {};
  const undo: Array<() => void> = [];
  let done = false;
  const send = (message: StreamInput) => {
    // A write to a call that has ended is dropped by DuplexCall; its status comes through messages().
    if (!done) void call.write(message).catch(() => undefined);
  };
  const startInput = () => {
    if (options.tty && io.stdout.isTTY) {
      const sendSize = () => {
        const size = terminalSize(ctx);
        if (size) send({ input: { $case: 'resize', value: size } });
      };
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
      const onData = (chunk: Buffer | string) => send({ input: { $case: 'stdin', value: Buffer.from(chunk) } });
      const onEnd = () => send({ input: { $case: 'closeStdin', value: true } });
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
  };
  try {
    send(first);
    let held = options.holdInput === true;
    if (!held) startInput();
    for await (const message of call.messages()) {
      if (held) {
        held = false;
        startInput();
      }
      options.onMessage?.(message);
      const output = message.output;
      if (!output) continue;
      switch (output.$case) {
        case 'stdout':
          await forward(io.stdout, output.value);
          break;
        case 'stderr':
          await forward(io.stderr, output.value);
          break;
        case 'exitCode':
          result.exitCode = output.value;
          break;
        case 'execId':
          result.execId = output.value;
          break;
      }
    }
    return result;
  } finally {
    done = true;
    for (const fn of undo.reverse()) fn();
  }
}

/** Writes `data`, and waits for 'drain' when the stream is full (the call is read no further meanwhile). */
function forward(stream: NodeJS.WritableStream, data: Buffer): Promise<void> | undefined {
  if (stream.write(data)) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
