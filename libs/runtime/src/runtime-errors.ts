import { InternalError, InvalidArgumentError, type BerthError } from '@berth/errors';

/** Refuses an id the runtime (and conmon's socket paths) could not take. */
export function checkId(id: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(id)) {
    throw new InvalidArgumentError(`Invalid container id "${id}": expected letters, digits, '_', '.' and '-'`);
  }
}

/** Strips runc's logrus prefix (`time="..." level=error msg="..."`) and surrounding space. */
export function cleanRuntimeError(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => {
      const m = /level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"/.exec(l);
      return m ? m[1]!.replace(/\\"/g, '"').replace(/\\\\/g, '\\') : l;
    })
    .map((l) => l.trim())
    .filter(Boolean);
  return [...new Set(lines)].join('\n');
}

/**
 * `OCI runtime create|exec failed: <runtime's text>`: InvalidArgumentError with code
 * COMMAND_NOT_FOUND (Docker's exit code 127) or COMMAND_NOT_EXECUTABLE (126) when the command is the
 * problem, else InternalError RUNTIME_CREATE_FAILED / RUNTIME_EXEC_FAILED; `detail.runtimeError`
 * keeps the runtime's text.
 */
export function runtimeError(op: 'create' | 'exec', id: string, raw: string): BerthError {
  const text = cleanRuntimeError(raw) || 'unknown error';
  const message = `OCI runtime ${op} failed: ${text}`;
  const detail = { id, runtimeError: text };
  if (/executable file not found|no such file or directory/i.test(text) && /exec:|exec /.test(text)) {
    return new InvalidArgumentError(message, { code: 'COMMAND_NOT_FOUND', detail });
  }
  if (/permission denied/i.test(text) && /exec/.test(text)) {
    return new InvalidArgumentError(message, { code: 'COMMAND_NOT_EXECUTABLE', detail });
  }
  return new InternalError(message, { code: op === 'create' ? 'RUNTIME_CREATE_FAILED' : 'RUNTIME_EXEC_FAILED', detail });
}
