import type { Readable, Writable } from 'node:stream';
import type { AttachSession, ContainerStats, ExecOptions, TopResult } from '@berth/runtime';

/**
 * The narrow views of the other libraries that the container manager uses. The real classes
 * (`ImageStore`, `OverlaySnapshotter`, `ConmonRuntime`) satisfy them structurally; tests could pass
 * fakes. Keeping them here documents exactly which verbs the lifecycle depends on.
 */

/** From @berth/images `ImageStore`. */
export interface ImageSource {
  /** NotFoundError `No such image: x`. */
  resolve(refOrId: string): Promise<{ id: string; config: ImageConfigLike }>;
  /** Makes sure every layer is an unpacked committed snapshot; the top chain id (undefined: no layers). */
  unpack(imageId: string): Promise<string | undefined>;
}

/** The parts of an OCI image config the container config is merged from. */
export interface ImageConfigLike {
  config?: {
    User?: string;
    ExposedPorts?: Record<string, object>;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, object>;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    OnBuild?: string[] | null;
  };
}

/** From @berth/snapshots. */
export interface MountSpec {
  type: string;
  source: string;
  target?: string;
  options: string[];
  cwd?: string;
}

export interface ContainerSnapshotter {
  prepare(key: string, parent?: string): Promise<MountSpec[]>;
  mounts(key: string): Promise<MountSpec[]>;
  remove(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  upperDir(key: string): string;
  lowerDirs(key: string): string[] | Promise<string[]>;
}

/**
 * From @berth/runtime `ConmonRuntime`: one OCI container per id, monitored by a daemonized conmon
 * that outlives the agent (exit code in its exit dir, OOM marker in its persist dir).
 */
export interface RuntimeDriver {
  create(id: string, options: { bundle: string; logPath: string; terminal?: boolean; stdin?: boolean; name?: string }): Promise<unknown>;
  start(id: string): Promise<void>;
  kill(id: string, signal?: string | number, options?: { all?: boolean }): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Idempotent; `force` kills a running container first. */
  delete(id: string, options?: { force?: boolean }): Promise<void>;
  /** NotFoundError when the runtime does not know the id. */
  state(id: string): Promise<{ status: string; pid: number }>;
  /** Whether the container's conmon still runs (it then writes the exit code when the container exits). */
  conmonAlive(id: string): Promise<boolean>;
  /** The exit code conmon recorded; undefined while the container has not exited. */
  exitCode(id: string): Promise<number | undefined>;
  oomKilled(id: string): Promise<boolean>;
  /** Resolves with the exit code once conmon wrote it; rejects when conmon died without writing one. */
  waitExit(id: string, signal?: AbortSignal): Promise<number>;
  /** Interactive exec through a conmon of its own (output in Docker's multiplexed frames). */
  execInteractive(id: string, options: ExecInteractiveOptionsLike): Promise<ExecSessionLike>;
  /** `exec -d`: starts the process and returns its host pid. */
  execDetached(id: string, options: Omit<ExecOptions, 'stdin' | 'signal'>): Promise<{ pid: number }>;
  /** Connects to conmon's attach socket (output in Docker's multiplexed frames). */
  attach(id: string): Promise<AttachSession>;
  resize(id: string, size: { height: number; width: number }): Promise<void>;
  stats(id: string): Promise<ContainerStats>;
  top(id: string, psArgs?: string[]): Promise<TopResult>;
}

/** @berth/runtime `ExecInteractiveOptions` (not exported from its index yet). */
export interface ExecInteractiveOptionsLike extends Omit<ExecOptions, 'stdin' | 'signal'> {
  tty?: boolean;
  stdin?: boolean;
  consoleSize?: { height: number; width: number };
  execId?: string;
  signal?: AbortSignal;
}

/** @berth/runtime `ExecSession` (not exported from its index yet). */
export interface ExecSessionLike {
  execId: string;
  pid: number;
  stdin: Writable;
  output: Readable;
  done: Promise<number>;
  resize(size: { height: number; width: number }): Promise<void>;
  close(): void;
}
