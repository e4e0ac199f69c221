import { DockerfileError, excerpt, type Instruction } from '@berth/dockerfile';
import { BerthError, InvalidArgumentError } from '@berth/errors';

/** Longest instruction text quoted in an error (a 200 KB RUN line stays in the progress, not in the status). */
const MAX_QUOTED = 1000;
/** Longest value (a path, a stage or image name, a URL) an error quotes. */
const MAX_QUOTED_VALUE = 200;
/** Longest message a located error carries after its location and instruction: whatever threw it. */
const MAX_MESSAGE = 2000;

/**
 * The error of a step, prefixed with where it happened: `Dockerfile:7: COPY a /b: "a" not found`
 * (the error class is kept, the original is the cause). DockerfileErrors already say where, and an
 * error located once is not located again by the stage that waited for it. A long instruction is
 * cut (`RUN echo aaa…`), and so is a long message: the whole must fit a gRPC status.
 */
export function located(file: string, ins: Instruction, err: unknown): Error {
  if (err instanceof DockerfileError) return err;
  if (err instanceof BerthError && err.detail?.located) return err;
  const message = shorten(err instanceof Error ? err.message : String(err), MAX_MESSAGE);
  const text = `${ins.location.file || file}:${ins.location.line}: ${shorten(ins.original.split('\n')[0]!)}: ${message}`;
  if (err instanceof BerthError) {
    const Class = err.constructor as new (message: string, options: ConstructorParameters<typeof BerthError>[1]) => BerthError;
    return new Class(text, { code: err.code, cause: err, detail: { ...(err.detail ?? {}), located: true, line: ins.location.line } });
  }
  return new InvalidArgumentError(text, { cause: err, detail: { located: true, line: ins.location.line } });
}

/** Runs `fn`, locating what it throws at `ins`. */
export function at<T>(file: string, ins: Instruction, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw located(file, ins, err);
  }
}

/** `text` cut to MAX_QUOTED characters, marked with `…` when it was. */
export function shorten(text: string, max = MAX_QUOTED): string {
  return excerpt(text, max);
}

/** A value from the Dockerfile or the context as an error quotes it: at most MAX_QUOTED_VALUE characters. */
export function valueExcerpt(text: string): string {
  return excerpt(text, MAX_QUOTED_VALUE);
}
