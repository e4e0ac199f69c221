import type { Readable } from 'node:stream';

/** The option and result types of the OCI runtime driver (see runtime-driver.ts for its roles). */

export interface CreateOptions {
  /** Bundle directory holding config.json (see generateSpec). */
  bundle: string;
  /** k8s-file log written by conmon (read it with readLogs). */
  logPath: string;
  /** `none`: conmon keeps no log at all (attach still works). Default k8s-file at `logPath`. */
  logDriver?: 'k8s-file' | 'none';
  /** conmon's `--log-size-max`: past this many bytes it starts the log file anew. */
  logSizeMax?: number;
  /** Allocate a pseudo-terminal (conmon holds its master; output goes to the log). Must match process.terminal. */
  terminal?: boolean;
  /** Keep a stdin pipe open for attach clients. */
  stdin?: boolean;
  /** Container name for conmon's logs; default the id. */
  name?: string;
  /** Kill the container after this many seconds (conmon -T). */
  timeoutSeconds?: number;
  /** Called once the monitor's process is started (before the container exists): what may overlap its start. */
  monitorStarted?: () => void;
}

/** `runc state` output. */
export interface RuntimeState {
  ociVersion: string;
  id: string;
  /** Host pid of the container's init; 0 once stopped. */
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
}

export interface ExecOptions {
  args: string[];
  /** `KEY=value` entries added to (and overriding) the container's environment. */
  env?: string[];
  /** Default: the container's cwd. */
  cwd?: string;
  /** Default: the container's user. Resolve names with resolveUser. */
  user?: { uid: number; gid: number; additionalGids?: number[] };
  /** Data written to the process's stdin, then closed. */
  stdin?: Buffer | string;
  /** Kill the exec'd process (SIGKILL) when aborted. */
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** Options of `execInteractive` (`docker exec -i/-t`). */
export interface ExecInteractiveOptions extends Omit<ExecOptions, 'stdin' | 'signal'> {
  /** Allocate a pseudo-terminal (stdin, stdout and stderr are its slave; TERM=xterm unless set). */
  tty?: boolean;
  /** Forward the session's `stdin` to the process (otherwise the process's stdin is /dev/null or the idle tty). */
  stdin?: boolean;
  /** Initial terminal size (with `tty`). */
  consoleSize?: { height: number; width: number };
  /** The session id (e.g. Docker's 64-hex exec id); default 32 random hex digits. */
  execId?: string;
  /** Kills the process (SIGKILL) when aborted, like `close()`. */
  signal?: AbortSignal;
}

/** A running non-tty exec whose stdio the caller streams. */
export interface ExecProcess {
  stdin: NodeJS.WritableStream;
  stdout: Readable;
  stderr: Readable;
  /** Resolves with the exit code (128+N for signal N); rejects when the process could not be started. */
  exited: Promise<number>;
}

export type RuntimeCheck = { ok: true; runtime: 'runc' | 'crun' } | { ok: false; runtime: 'runc' | 'crun'; warning: string };
