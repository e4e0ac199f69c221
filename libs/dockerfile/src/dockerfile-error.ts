import { InvalidArgumentError } from '@berth/errors';

export interface ErrorLocation {
  file: string;
  /** 1-based; 0 when the error concerns the whole file. */
  line: number;
  /** Last line of the instruction (continuations, heredocs); defaults to `line`. */
  endLine?: number;
  instruction?: string;
}

/**
 * A Dockerfile that cannot be parsed or used. The message always says where:
 * - found while parsing (`parseDockerfile`), as BuildKit words it:
 *   `dockerfile parse error on line 12: unknown instruction: FORM (did you mean FROM?)`;
 * - found later, e.g. while expanding a step's variables or in ONBUILD triggers of a base image:
 *   `Dockerfile:12: failed to process "${A:?}": A: is not allowed to be unset`;
 * - about the whole file: `Dockerfile: file with no instructions`.
 * `reason` is the message without the location; `detail` carries the facts for programs:
 * `{ file, line, endLine, instruction }`, enough for `sourceExcerpt` to show the lines.
 */
export class DockerfileError extends InvalidArgumentError {
  readonly file: string;
  readonly line: number;
  readonly endLine: number;
  readonly instruction?: string;
  readonly reason: string;

  constructor(reason: string, where: ErrorLocation, options: { cause?: unknown; parse?: boolean } = {}) {
    super(messageOf(reason, where, options.parse === true), {
      code: 'DOCKERFILE_PARSE',
      cause: options.cause,
      detail: { file: where.file, line: where.line, endLine: where.endLine ?? where.line, instruction: where.instruction },
    });
    this.file = where.file;
    this.line = where.line;
    this.endLine = where.endLine ?? where.line;
    this.instruction = where.instruction;
    this.reason = reason;
  }
}

function messageOf(reason: string, where: ErrorLocation, parse: boolean): string {
  if (where.line <= 0) return `${where.file}: ${reason}`;
  if (parse) return `dockerfile parse error on line ${where.line}: ${reason}`;
  return `${where.file}:${where.line}: ${reason}`;
}

/** How much of a user's value an error message quotes: enough to recognise it, never kilobytes. */
const quoteLimit = 80;

/** `text` cut to a length an error message can quote, ending with `…` when cut. */
export function excerpt(text: string, limit = quoteLimit): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}…`;
}
