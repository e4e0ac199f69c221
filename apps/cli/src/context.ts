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

export function write(stream: Writable, text: string): void {
  if (text) stream.write(text);
}
