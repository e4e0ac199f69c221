import { InvalidArgumentError, NotFoundError } from '@berth/errors';

/**
 * Where in the Compose files a problem is: the file as the user named it, the field path
 * (`services.web.ports[1]`) and, when the YAML reader saw it, the 1-based line.
 */
export interface SourceLocation {
  file: string;
  path?: string;
  line?: number;
}

/** `compose.yaml:12: services.web.ports[1]: invalid port "80:abc"` (line and path when known). */
export function formatLocation(where: SourceLocation): string {
  const head = where.line ? `${where.file}:${where.line}` : where.file;
  return where.path ? `${head}: ${where.path}` : head;
}

/**
 * The one error every phase throws for a bad Compose project: an InvalidArgumentError whose message
 * starts with the file and the field path, and whose detail carries them for programs.
 */
export function composeError(where: SourceLocation, message: string, options: { cause?: unknown } = {}): InvalidArgumentError {
  return new InvalidArgumentError(`${formatLocation(where)}: ${message}`, {
    code: 'COMPOSE_INVALID',
    cause: options.cause,
    detail: { file: where.file, path: where.path ?? '', ...(where.line ? { line: where.line } : {}) },
  });
}

/** A Compose file (or a file it names: env_file, extends, include) that does not exist. */
export function composeFileNotFound(where: SourceLocation, what: string): NotFoundError {
  return new NotFoundError(`${formatLocation(where)}: ${what}`, {
    code: 'COMPOSE_FILE_NOT_FOUND',
    detail: { file: where.file, path: where.path ?? '' },
  });
}

/** Joins field path segments the way errors print them: keys with dots, indices in brackets. */
export function pathString(segments: ReadonlyArray<string | number>): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}
