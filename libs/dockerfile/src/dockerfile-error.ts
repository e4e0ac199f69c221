import { InvalidArgumentError } from '@berth/errors';

/**
 * A Dockerfile that cannot be parsed or used. The message always starts with where:
 * `Dockerfile:12: unknown instruction: FORM (did you mean FROM?)`; `detail` carries the same
 * facts for programs: `{ file, line, instruction }` (line 0 when the error concerns the whole file).
 */
export class DockerfileError extends InvalidArgumentError {
  readonly file: string;
  readonly line: number;
  readonly instruction?: string;

  constructor(what: string, where: { file: string; line: number; instruction?: string }, options: { cause?: unknown } = {}) {
    super(where.line > 0 ? `${where.file}:${where.line}: ${what}` : `${where.file}: ${what}`, {
      code: 'DOCKERFILE_PARSE',
      cause: options.cause,
      detail: { file: where.file, line: where.line, instruction: where.instruction },
    });
    this.file = where.file;
    this.line = where.line;
    this.instruction = where.instruction;
  }
}
