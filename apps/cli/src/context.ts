import type { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';

/** The process's standard streams and environment, injectable so tests can run the CLI in-process. */
export interface CliIo {
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable;
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  env: Record<string, string | undefined>;
  /**
   * Where SIGINT, SIGTERM and SIGWINCH arrive (the process). Without it the CLI proxies no signals
   * and sends no terminal resizes (tests).
   */
  signals?: EventEmitter;
  /**
   * Writes text to standard output (1) or error (2) at once, without Node's stream for it while no
   * command has needed that stream (run-main.ts, std-output.ts): a command that only prints text
   * then loads neither node:stream nor node:net. Tests leave it out: the text goes to `stdout` or
   * `stderr`. Use `printOut`/`printErr`.
   */
  print?: (fd: 1 | 2, text: string) => void;
}

/** TLS files for a gateway on TCP (docker's --tlscacert, --tlscert, --tlskey). */
export interface GatewayTls {
  ca: string;
  cert: string;
  key: string;
}

/** What a command handler gets besides its parsed arguments. */
export interface CommandContext {
  io: CliIo;
  /** The command as the user typed it, e.g. `berth container ls` (used in messages). */
  path: string;
  /** The gateway address (`-H`, else BERTH_HOST, else the default socket). */
  host: string;
  /** TLS for a TCP gateway (`--tlsverify`, or BERTH_TLS_VERIFY with BERTH_CERT_PATH, or the context's). */
  tls?: GatewayTls;
  /** The context the gateway address came from (`default` for -H, BERTH_HOST or the default socket). */
  contextName?: string;
  /** Run when the command ends, whatever happened (closing gRPC clients, restoring the terminal). */
  cleanup: Array<() => void>;
  /** `run`/`create --node`, `--constraint`: sent to the gateway with the create call (placement-metadata.ts). */
  placement?: { node: string; constraints: string[] };
}

export const defaultHost = 'unix:/run/berth/api.sock';

/** Text to standard output: `io.print` when there is one, else `io.stdout`. */
export function printOut(io: CliIo, text: string): void {
  if (io.print) io.print(1, text);
  else io.stdout.write(text);
}

/** Text to standard error: `io.print` when there is one, else `io.stderr`. */
export function printErr(io: CliIo, text: string): void {
  if (io.print) io.print(2, text);
  else io.stderr.write(text);
}

export function write(stream: Writable, text: string): void {
  if (text) stream.write(text);
}
