/**
 * "Now" for an `events --until` (or `logs --until`) that must include what just happened: a Unix
 * time with its milliseconds. A duration such as `0s` is whole seconds in docker's client (and
 * Berth's, which follows it), so it cuts off the events of the current second.
 */
export function untilNow(): string {
  return (Date.now() / 1000).toFixed(3);
}
