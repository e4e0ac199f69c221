import type { RestartPolicy } from './types.js';

const initialDelay = 100;
const maxDelay = 60_000;
/** A run at least this long resets the back-off (Docker's rule). */
const resetAfter = 10_000;

/**
 * Decides, after each exit of one container, whether its restart policy restarts it and after how
 * long (Docker's restartmanager): the delay starts at 100 ms and doubles up to 1 minute, and goes
 * back to 100 ms after a run of 10 s or more. One instance lives as long as the container is not
 * started by hand; `docker start` makes a new one (and resets RestartCount).
 */
export class RestartManager {
  private delay = 0;
  private canceled = false;

  constructor(private readonly policy: RestartPolicy) {}

  /**
   * @param restartCount restarts so far (the record's RestartCount), checked against on-failure's maximum.
   * @param manuallyStopped stopped by the user: `unless-stopped` does not restart.
   * @param ranFor how long the run that just ended lasted, in ms.
   * @returns the delay in ms before restarting, or undefined for no restart.
   */
  shouldRestart(exitCode: number, restartCount: number, manuallyStopped: boolean, ranFor: number): number | undefined {
    if (this.canceled) return undefined;
    if (ranFor >= resetAfter) this.delay = 0;
    this.delay = this.delay === 0 ? initialDelay : Math.min(this.delay * 2, maxDelay);
    let restart = false;
    switch (this.policy.Name) {
      case 'always':
        restart = true;
        break;
      case 'unless-stopped':
        restart = !manuallyStopped;
        break;
      case 'on-failure': {
        const max = this.policy.MaximumRetryCount;
        restart = exitCode !== 0 && (max === 0 || restartCount < max);
        break;
      }
      default:
        restart = false;
    }
    return restart ? this.delay : undefined;
  }

  /** Stops any further restart (stop, kill with the stop signal, remove). */
  cancel(): void {
    this.canceled = true;
  }

  get isCanceled(): boolean {
    return this.canceled;
  }
}

/**
 * Whether a container that is not running is started again when the agent starts: `always`, and
 * `unless-stopped` when it was not stopped by the user (Docker's behaviour on daemon restart).
 */
export function restartsOnAgentStart(policy: RestartPolicy, manuallyStopped: boolean): boolean {
  return policy.Name === 'always' || (policy.Name === 'unless-stopped' && !manuallyStopped);
}
