/**
 * A problem in one instruction, thrown while its arguments are read; the caller knows where and
 * turns it into a `DockerfileError` with the line.
 */
export class InstructionError extends Error {}
