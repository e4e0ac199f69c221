import type { AttachSession } from './attach.js';
import type { ContainerStats, TopResult } from './cgroup-stats.js';
import type { ExecSession } from './exec-session.js';
import type { OciLinuxResources } from './oci-spec.js';
import type { CreateOptions, ExecInteractiveOptions, ExecOptions, ExecProcess, RuntimeState } from './runtime-types.js';

/*
 * The OCI runtime driver, cut by role (as containerd cuts its content store into Provider and
 * Ingester): a consumer takes the narrowest role it uses, and a caller that needs several composes
 * them. `ConmonRuntime` implements them all (`RuntimeDriver`). Every method takes the container id.
 */

/**
 * Creates, starts, signals and deletes one OCI container per id.
 * Errors: NotFoundError `No such container: <id>` for an id the runtime does not know;
 * FailedPreconditionError for the wrong state (`Cannot pause container <id>: ...`).
 */
export interface RuntimeLifecycle {
  /** Creates the container (its process waits for `start`); `OCI runtime create failed: ...` errors. */
  create(id: string, options: CreateOptions): Promise<{ pid: number; conmonPid: number }>;
  start(id: string): Promise<void>;
  /** Signals the container's init (`all`: every process). InvalidArgumentError for an unknown signal. */
  kill(id: string, signal?: string | number, options?: { all?: boolean }): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Idempotent; `force` kills a running container first. Removes the monitor's files too. */
  delete(id: string, options?: { force?: boolean }): Promise<void>;
  state(id: string): Promise<RuntimeState>;
}

/**
 * The container's monitor (conmon) and what it records when the container exits. The monitor
 * outlives the agent, so a new process over the same directories still gets the exit code.
 */
export interface RuntimeExits {
  /** Whether the monitor still runs (it then writes the exit code when the container exits). */
  conmonAlive(id: string): Promise<boolean>;
  /** The exit code the monitor recorded; undefined while the container has not exited. */
  exitCode(id: string): Promise<number | undefined>;
  oomKilled(id: string): Promise<boolean>;
  /** Resolves with the exit code once recorded; FailedPreconditionError when the monitor died without one. */
  waitExit(id: string, signal?: AbortSignal): Promise<number>;
  /**
   * Resolves once the monitor of an exited container is gone (it drains the container's output
   * into the log before it exits: the log is then complete), or after a few seconds at most.
   */
  monitorGone(id: string): Promise<void>;
}

/** The container's stdio and processes run in it (output in Docker's multiplexed frames). */
export interface RuntimeIo {
  /** `docker exec -i/-t`, through a monitor of its own. */
  execInteractive(id: string, options: ExecInteractiveOptions): Promise<ExecSession>;
  /**
   * A non-tty exec whose stdio the caller streams, run by the runtime directly (no conmon): cheap,
   * for short processes such as healthcheck probes. Aborting `signal` kills the process.
   */
  spawnExec(id: string, options: Omit<ExecOptions, 'stdin'>): Promise<ExecProcess>;
  /** `docker exec -d`: starts the process and returns its host pid. */
  execDetached(id: string, options: Omit<ExecOptions, 'stdin' | 'signal'>): Promise<{ pid: number }>;
  /**
   * Connects to the monitor's attach socket; FailedPreconditionError when there is none. With
   * `beforeCreate`, called before `create`: connects once the monitor listens; `signal` ends it.
   */
  attach(id: string, options?: { beforeCreate?: boolean; signal?: AbortSignal }): Promise<AttachSession>;
  /** Resizes the container's terminal; FailedPreconditionError when its monitor is gone. */
  resize(id: string, size: { height: number; width: number }): Promise<void>;
}

/** Resource figures and processes of a running container (its cgroup). */
export interface RuntimeStats {
  stats(id: string): Promise<ContainerStats>;
  top(id: string, psArgs?: string[]): Promise<TopResult>;
}

/** Changes the cgroup limits of a running container (`docker update`). */
export interface RuntimeUpdate {
  /**
   * Applies `resources` to the container's cgroup at once (`runc update`); fields left out keep
   * their values. NotFoundError for an unknown id; FailedPreconditionError when the kernel refuses a
   * value (e.g. a memory limit below what the container uses).
   */
  update(id: string, resources: OciLinuxResources): Promise<void>;
}

/** Every role: what a container manager drives. */
export type RuntimeDriver = RuntimeLifecycle & RuntimeExits & RuntimeIo & RuntimeStats & RuntimeUpdate;
