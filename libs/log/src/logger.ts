/**
 * What a library logs through: the narrow face of the service's pino logger (service-logger.ts),
 * passed in its options, so that no library imports pino or writes to stdout itself. `fields` names
 * the object the event concerns (`{ container, path, network, err }`); `msg` says what happened, in
 * the words of an error message (`Cannot unmount the rootfs`).
 */
export interface Logger {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

/** A logger that drops everything: the default of a library whose caller passed none (tests, tools). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };


/**
 * A `.catch` handler for a cleanup whose failure must be seen but must not fail the caller: logs it
 * at warn with the object it concerns (`{ container }`, `{ path }`, `{ network }`) and resolves.
 */
export function warnOnFailure(log: Logger, fields: Record<string, unknown>, msg: string): (err: unknown) => void {
  return (err) => log.warn({ ...fields, err }, msg);
}
