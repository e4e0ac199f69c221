/**
 * What the controller reports while it works, one event per step of one object, in the words
 * compose v2 prints (`Container p-web-1  Started`). The CLI renders them (see
 * apps/cli/src/compose/progress-printer.ts); the watcher logs them.
 */
export type ProgressKind = 'Network' | 'Volume' | 'Container' | 'Image' | 'Service';

export interface ProgressEvent {
  kind: ProgressKind;
  /** The object's name (`p_default`, `p-web-1`, `web`). */
  name: string;
  /** `Creating`, `Created`, `Starting`, `Started`, `Recreate`, `Recreated`, `Waiting`, `Healthy`, … */
  status: string;
  /** The step ended (✔) or failed (✘); false while it runs. */
  done: boolean;
  error?: boolean;
  /** More words after the status (an error's reason). */
  detail?: string;
}

export type ProgressSink = (event: ProgressEvent) => void;

export const silentProgress: ProgressSink = () => {};

/** Helpers to report the start and end of a step of one object. */
export function reporter(sink: ProgressSink, kind: ProgressKind, name: string) {
  return {
    working: (status: string, detail?: string) => sink({ kind, name, status, done: false, detail }),
    done: (status: string, detail?: string) => sink({ kind, name, status, done: true, detail }),
    failed: (status: string, detail?: string) => sink({ kind, name, status, done: true, error: true, detail }),
  };
}
