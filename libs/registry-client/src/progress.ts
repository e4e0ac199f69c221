/**
 * Progress of a pull or push, one event per layer change, shaped like the JSON messages of
 * Docker's API (`{"status":"Downloading","id":"a3ed95caeb02","progressDetail":{...}}`) so that the
 * CLI can print Docker's lines. `id` is the layer's short digest (12 hex characters).
 */
export type PullStatus = 'Pulling fs layer' | 'Waiting' | 'Downloading' | 'Download complete' | 'Already exists' | 'Pull complete';

export type PushStatus = 'Preparing' | 'Waiting' | 'Pushing' | 'Pushed' | 'Layer already exists' | `Mounted from ${string}`;

export interface ProgressEvent<S extends string = PullStatus | PushStatus> {
  id: string;
  status: S;
  /** Bytes moved so far (Downloading / Pushing), and the blob size. */
  current?: number;
  total?: number;
}

export type ProgressListener<S extends string = PullStatus | PushStatus> = (event: ProgressEvent<S>) => void;

/** Calls `emit` at most every `intervalMs`, plus always for the final value. */
export function throttle(intervalMs: number, emit: (current: number) => void): (current: number, final?: boolean) => void {
  let last = 0;
  return (current, final = false) => {
    const now = Date.now();
    if (final || now - last >= intervalMs) {
      last = now;
      emit(current);
    }
  };
}
