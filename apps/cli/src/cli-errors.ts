import { isBerthError, messageOf } from '@berth/errors';

/**
 * How the CLI ends a command that failed. Handlers throw:
 * - StatusError: print the message (if any) on stderr, exit with the code (docker's cli.StatusError);
 * - FlagError (flags.ts): printed with the usage, exit 125;
 * - any error of @berth/errors from the gateway: `Error response from daemon: <message>`, exit 1
 *   (`run` prints `berth: …` plus a help hint and exits 125, as `docker run` does);
 * - a connection failure: `Cannot connect to the Berth platform at <host>. Is the platform running?`
 *   when nothing listens there (no socket, refused), `…: permission denied on <socket>` when the
 *   socket is there but not for this user, `…: TLS handshake failed: …` for certificate trouble.
 */
export class StatusError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

/** The gateway could not be reached (as opposed to an answer from it). */
export function isConnectionError(err: unknown): boolean {
  return isBerthError(err) && err.kind === 'unavailable' && err.message.startsWith('Cannot connect to the Berth platform');
}

/** The line docker prints for an error that came back from the daemon (or for not reaching it). */
export function daemonMessage(err: unknown, host: string): string {
  if (isConnectionError(err)) return connectionMessage(messageOf(err), host);
  if (isBerthError(err)) return `Error response from daemon: ${err.message}`;
  return messageOf(err);
}

function connectionMessage(detail: string, host: string): string {
  if (/\bEACCES\b|\bEPERM\b/.test(detail)) {
    const path = /(?:EACCES|EPERM) (\S+?)\.?(?:\s|$)/.exec(detail)?.[1] ?? host.replace(/^unix:(\/\/)?/, '');
    return `Cannot connect to the Berth platform at ${host}: permission denied on ${path} (run as root, or as a member of the group set with \`berth platform up --group\`)`;
  }
  // On TCP the gateway speaks TLS only; a connection it accepted and then closed is a refused
  // client certificate: grpc-js says "Failed to connect" or "read ECONNRESET" then, depending on
  // when the close reached it, so both read the same.
  const tcp = !/^unix:/.test(host);
  if (/SSL|TLS|certificate|handshake/i.test(detail) || (tcp && !/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT/.test(detail))) {
    const stripped = detail
      .replace(/^Cannot connect to the Berth platform: (No connection established\. Last error: )?/, '')
      .replace(/\.? Resolution note: ?$/, '')
      .replace(/^Error: /, '')
      .replace(/ \(\d{4}-\d\d-\d\dT[\d:.]+Z\)/, ''); // grpc-js stamps "Failed to connect" with a time
    const why = /^(Failed to connect|read ECONNRESET)$/.test(stripped) ? 'the gateway closed the connection' : stripped;
    return `Cannot connect to the Berth platform at ${host}: TLS handshake failed: ${why} (the gateway wants a client certificate signed by its CA: --tlscert, --tlskey)`;
  }
  return `Cannot connect to the Berth platform at ${host}. Is the platform running?`;
}

/**
 * docker run's exit status for a failure to start the container's process: 127 when the command
 * was not found, 126 when it could not be invoked, 125 otherwise (cli/command/container/run.go).
 */
export function runFailureExitCode(message: string): number {
  if (/executable file not found|no such file or directory|command not found/i.test(message)) return 127;
  if (/permission denied|cannot execute|not executable/i.test(message)) return 126;
  return 125;
}
