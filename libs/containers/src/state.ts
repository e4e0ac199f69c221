import { humanDuration } from '@berth/filters';
import { healthLabel } from './health-state.js';
import type { ContainerState, ContainerStatus } from './types.js';

/** Docker's zero time, shown for StartedAt/FinishedAt that never happened. */
export const zeroTime = '0001-01-01T00:00:00Z';

export function isZeroTime(t: string): boolean {
  return t === '' || t.startsWith('0001-01-01');
}

/** The state of a container that was created and never started. */
export function createdState(): ContainerState {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: zeroTime,
    FinishedAt: zeroTime,
  };
}

/** Docker's `State.StateString()` from the flags. */
export function statusOf(s: ContainerState): ContainerStatus {
  if (s.Running) {
    if (s.Paused) return 'paused';
    if (s.Restarting) return 'restarting';
    return 'running';
  }
  if (s.Dead) return 'dead';
  if (isZeroTime(s.StartedAt)) return 'created';
  return 'exited';
}

/** Docker's `units.HumanDuration` (@berth/filters). */
export { humanDuration };

/** Docker's `State.String()`: the Status column of `docker ps` (`Up 5 seconds`, `Exited (0) 3 seconds ago`). */
export function statusText(s: ContainerState, now = Date.now()): string {
  const since = (t: string) => humanDuration(Math.max(0, now - Date.parse(t)));
  if (s.Running) {
    if (s.Paused) return `Up ${since(s.StartedAt)} (Paused)`;
    if (s.Restarting) return `Restarting (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
    // Docker: a container with a healthcheck shows its health (`Up 3 seconds (healthy)`).
    if (s.Health) return `Up ${since(s.StartedAt)} (${healthLabel(s.Health.Status)})`;
    return `Up ${since(s.StartedAt)}`;
  }
  if (s.Status === 'removing') return 'Removal In Progress';
  if (s.Dead) return 'Dead';
  if (isZeroTime(s.StartedAt)) return 'Created';
  if (isZeroTime(s.FinishedAt)) return '';
  return `Exited (${s.ExitCode}) ${since(s.FinishedAt)} ago`;
}
