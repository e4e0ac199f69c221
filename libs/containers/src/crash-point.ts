/**
 * TEST ONLY. Points of create and start where a test may have the process die, as an agent
 * killed with `kill -9` would: with `BERTH_TEST_CRASH_AT=<phase>` in its environment the process
 * sends itself SIGKILL when it reaches that phase. Nothing else reads the variable; never set it
 * on a real host.
 *
 *   create-after-snapshot      the rw snapshot is prepared; no bundle, no record
 *   create-before-record       snapshot and bundle dir exist; no record
 *   start-before-runtime       the record says a start is in progress; rootfs mounted, spec written
 *   start-after-runtime-create conmon and the runtime hold a created (not started) container
 *   start-after-runtime-start  the process runs; the record does not say so yet
 *   remove-before-delete       `rm`: bundle dir and snapshot renamed into their trash, not deleted
 *                              yet; the record says the container is being removed
 */
export type CrashPhase =
  | 'create-after-snapshot'
  | 'create-before-record'
  | 'start-before-runtime'
  | 'start-after-runtime-create'
  | 'start-after-runtime-start'
  | 'remove-before-delete';

export function crashPoint(phase: CrashPhase): void {
  if (process.env.BERTH_TEST_CRASH_AT === phase) process.kill(process.pid, 'SIGKILL');
}
