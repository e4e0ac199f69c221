/**
 * The typed form of a Dockerfile, as `parseDockerfile` returns it.
 *
 * Contract for consumers (the builder):
 * - Values of instructions that Docker expands with the build environment (FROM, ENV, LABEL, ADD,
 *   COPY, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, ARG, the `--mount` options of RUN) are kept
 *   *unexpanded and still quoted*, exactly as written: `ENV A="x y"` has the value `"x y"`. Call
 *   `expandInstruction` (or `expandWords` / `expandWordList`) with the environment of the step to
 *   get the values Docker would use (quotes removed, variables substituted).
 * - RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and MAINTAINER are never expanded by Docker: the shell
 *   does it at run time.
 * - Line numbers are 1-based and point into the original text; `endLine` includes continuation
 *   lines and heredoc bodies.
 */

export interface SourceLocation {
  file: string;
  /** First line of the instruction (1-based). */
  line: number;
  /** Last line of the instruction, including continuation lines and heredoc bodies. */
  endLine: number;
}

export type InstructionKind =
  | 'FROM'
  | 'RUN'
  | 'CMD'
  | 'ENTRYPOINT'
  | 'LABEL'
  | 'MAINTAINER'
  | 'EXPOSE'
  | 'ENV'
  | 'ADD'
  | 'COPY'
  | 'VOLUME'
  | 'USER'
  | 'WORKDIR'
  | 'ONBUILD'
  | 'STOPSIGNAL'
  | 'HEALTHCHECK'
  | 'ARG'
  | 'SHELL';

interface InstructionBase {
  location: SourceLocation;
  /**
   * The instruction as written: continuation lines joined (escape char and newline removed), trimmed,
   * followed by its heredoc bodies (`\n<content><NAME>` for each), so that it is a complete textual
   * identity of the step for cache keys and history `created_by`.
   */
  original: string;
}

/** A here-document attached to RUN, COPY or ADD (`<<EOF` … `EOF`). */
export interface Heredoc {
  /** The delimiter word with its quotes removed (`<<"EOF"` → `EOF`). */
  name: string;
  /** The body, every line with its newline; leading tabs already removed when `chomp` is set. */
  content: string;
  /** False when any part of the delimiter was quoted (`<<'EOF'`, `<<"EOF"`): no variable expansion. */
  expand: boolean;
  /** `<<-EOF`: leading tabs of body lines (and of the terminator) are stripped. */
  chomp: boolean;
  /** `3<<EOF` redirects the document to file descriptor 3. */
  fileDescriptor?: number;
}

export interface FromInstruction extends InstructionBase {
  kind: 'FROM';
  /** The base: `scratch`, a reference, or an earlier stage name; unexpanded (may use meta ARGs). */
  image: string;
  /** `--platform=…`, unexpanded. */
  platform?: string;
  /** `AS name`, lowercased. */
  as?: string;
}

/** One `--mount=…` of RUN. Values are unexpanded, as written. */
export interface RunMount {
  type: 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
  target?: string;
  source?: string;
  /** Stage name, image or index to mount from (bind, cache). */
  from?: string;
  readonly: boolean;
  /** cache/secret/ssh id. */
  id?: string;
  /** cache sharing mode. */
  sharing?: 'shared' | 'private' | 'locked';
  mode?: string;
  uid?: string;
  gid?: string;
  required?: boolean;
  size?: string;
  env?: string;
  /** Every key=value as written (booleans like `readonly` map to `"true"`). */
  options: Record<string, string>;
}

export interface RunInstruction extends InstructionBase {
  kind: 'RUN';
  /** Exec form: the JSON array. Shell form: the command line string (for heredocs, e.g. `<<EOF` or `python3 <<EOF`). */
  command: string[] | string;
  heredocs: Heredoc[];
  mounts: RunMount[];
  /** `--network=default|none|host`. */
  network?: string;
  /** `--security=sandbox|insecure`. */
  security?: string;
}

export interface CmdInstruction extends InstructionBase {
  kind: 'CMD';
  command: string[] | string;
}

export interface EntrypointInstruction extends InstructionBase {
  kind: 'ENTRYPOINT';
  command: string[] | string;
}

export interface LabelInstruction extends InstructionBase {
  kind: 'LABEL';
  pairs: Array<[string, string]>;
}

export interface MaintainerInstruction extends InstructionBase {
  kind: 'MAINTAINER';
  name: string;
}

export interface ExposeInstruction extends InstructionBase {
  kind: 'EXPOSE';
  /**
   * As written (`80`, `80/udp`, `8000-8010`, `$PORT`). `expandInstruction` turns them into the exposed
   * `port/proto` keys (`8000/tcp` … `8010/tcp`); by hand: `exposedPorts(words.flatMap(expandWordList))`.
   */
  ports: string[];
}

export interface EnvInstruction extends InstructionBase {
  kind: 'ENV';
  pairs: Array<[string, string]>;
}

interface CopyLike extends InstructionBase {
  /** Source paths (heredoc sources excluded, see `heredocs`). */
  sources: string[];
  dest: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  /** `--exclude=` patterns, in order. */
  excludes: string[];
  /** `--parents`. */
  parents: boolean;
  /** Inline sources (`COPY <<EOF /file`): each becomes a file named after the heredoc in `dest`. */
  heredocs: Heredoc[];
}

export interface CopyInstruction extends CopyLike {
  kind: 'COPY';
  /** `--from=stage|image|index`. */
  from?: string;
}

export interface AddInstruction extends CopyLike {
  kind: 'ADD';
  /** `--checksum=sha256:…` (URL sources). */
  checksum?: string;
  /** `--keep-git-dir`. */
  keepGitDir: boolean;
  /** `--unpack=true|false` (undefined: Docker's default, local archives are unpacked). */
  unpack?: boolean;
}

export interface VolumeInstruction extends InstructionBase {
  kind: 'VOLUME';
  paths: string[];
}

export interface UserInstruction extends InstructionBase {
  kind: 'USER';
  user: string;
}

export interface WorkdirInstruction extends InstructionBase {
  kind: 'WORKDIR';
  path: string;
}

export interface OnbuildInstruction extends InstructionBase {
  kind: 'ONBUILD';
  /** The trigger, parsed (never FROM, MAINTAINER or ONBUILD). */
  trigger: Instruction;
  /** The trigger text as stored in the image config's `OnBuild` (with heredoc bodies). */
  text: string;
}

export interface StopsignalInstruction extends InstructionBase {
  kind: 'STOPSIGNAL';
  signal: string;
}

export interface HealthcheckInstruction extends InstructionBase {
  kind: 'HEALTHCHECK';
  /** `HEALTHCHECK NONE`: disables the base image's check; `test` is then `["NONE"]`. */
  none: boolean;
  /** `["CMD", …]` (exec form), `["CMD-SHELL", "…"]` (shell form) or `["NONE"]`. */
  test: string[];
  /** Durations in nanoseconds, as in the image config. */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export interface ArgInstruction extends InstructionBase {
  kind: 'ARG';
  args: Array<{ name: string; default?: string }>;
}

export interface ShellInstruction extends InstructionBase {
  kind: 'SHELL';
  shell: string[];
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | LabelInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | EnvInstruction
  | AddInstruction
  | CopyInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | OnbuildInstruction
  | StopsignalInstruction
  | HealthcheckInstruction
  | ArgInstruction
  | ShellInstruction;

export interface Stage {
  /** Position among the stages, from 0 (`COPY --from=0`). */
  index: number;
  /** `AS name`, lowercased. */
  name?: string;
  from: FromInstruction;
  /** The instructions after FROM, in order (FROM itself excluded). */
  instructions: Instruction[];
}

export interface Dockerfile {
  directives: { syntax?: string; escape: string; check?: string };
  /** ARGs before the first FROM: usable in FROM lines, and in stages that redeclare them. */
  metaArgs: ArgInstruction[];
  stages: Stage[];
  /** Non-fatal findings, each `<file>:<line>: <text>`. */
  warnings: string[];
}
