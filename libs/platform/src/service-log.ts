import { writeSync } from 'node:fs';

/**
 * The log of a platform service: one timestamped line per call on `fd` (stdout: the file under
 * `<data-root>/logs` that `platform up` gave it). A line that cannot be written (that disk is full,
 * as the data root may be) is lost and the service goes on; logging resumes when space returns.
 * Written with writeSync rather than console.log: a failed write destroys the console's stream,
 * whose 'error' event then ends the process (the agent died so on a full data root).
 */
export function serviceLog(fd = 1): (line: string) => void {
  return (line) => {
    try {
      writeSync(fd, `${new Date().toISOString()} ${line}\n`);
    } catch {
      // ENOSPC (or a closed stdout): this line is lost, the service keeps running.
    }
  };
}
