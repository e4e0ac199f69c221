import type { LogShipper } from './log-shipper.js';
import { RestartManager } from './restart-manager.js';
import type { ContainerRecord, WaitCondition } from './types.js';

/** In-memory state of one container while this process manages it (rebuilt by `init`). */
export interface Live {
  restart: RestartManager;
  /** Bumped at every start: an exit of an older run is ignored. */
  generation: number;
  /** Resolves once the current run's exit has been handled (state written, cleanup done). */
  exited?: Deferred<void>;
  restartTimer?: NodeJS.Timeout;
  removing?: boolean;
  waiters: Set<Waiter>;
  /** Attach sessions to connect at the next start, between runtime create and start. */
  pendingAttaches: Set<PendingAttach>;
  /** json-file / local: copies the running container's output into its log files. */
  logShipper?: LogShipper;
}

export interface PendingAttach {
  /** Called just before the runtime creates the container: may start connecting meanwhile. */
  prepare?(): void;
  /** Connects to the runtime's attach socket; resolves once connected (output then flows). */
  connect(): Promise<void>;
  /** The start failed: end the session. */
  cancel(): void;
}

export interface Waiter {
  condition: WaitCondition;
  resolve: (exitCode: number) => void;
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The `Live` state of every container this process manages, by id. */
export class LiveTable {
  private readonly byId = new Map<string, Live>();
  /** The exit codes of the last removed containers, oldest first (see removedExitCode). */
  private readonly removedExits = new Map<string, number>();

  get(id: string): Live | undefined {
    return this.byId.get(id);
  }

  /** The container's live state, made fresh (restart policy from the record) on first use. */
  of(rec: ContainerRecord): Live {
    let live = this.byId.get(rec.Id);
    if (live === undefined) {
      live = {
        restart: new RestartManager(rec.HostConfig.RestartPolicy),
        generation: 0,
        waiters: new Set(),
        pendingAttaches: new Set(),
      };
      this.byId.set(rec.Id, live);
    }
    return live;
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  /** Keeps a removed container's exit code for a wait that arrives late (removedExitCode). */
  recordRemoved(id: string, exitCode: number): void {
    this.removedExits.set(id, exitCode);
    if (this.removedExits.size > 256) this.removedExits.delete(this.removedExits.keys().next().value!);
  }

  /**
   * The exit code of a container removed lately, by full id. `docker run --rm` asks for its wait
   * before it starts the container, but that call may reach the agent after a short-lived
   * container's exit and removal (a busy host): it gets the exit code, not "No such container".
   */
  removedExitCode(id: string): number | undefined {
    return this.removedExits.get(id);
  }

  values(): IterableIterator<Live> {
    return this.byId.values();
  }
}

/** Resolves the waiters an exit satisfies: `next-exit` always, `not-running` unless a restart follows. */
export function notifyWaiters(live: Live, exitCode: number, stillRunning: boolean): void {
  for (const waiter of [...live.waiters]) {
    if (waiter.condition === 'next-exit' || (waiter.condition === 'not-running' && !stillRunning)) {
      live.waiters.delete(waiter);
      waiter.resolve(exitCode);
    }
  }
}
