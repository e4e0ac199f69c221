/**
 * ARG scoping, as Docker applies it:
 * - ARGs before the first FROM ("meta ARGs") and the automatic platform ARGs are visible in FROM
 *   lines only;
 * - inside a stage an ARG is visible from its declaration on, to the end of the stage; a meta ARG
 *   must be redeclared (`ARG NAME`, no default) to be used, and then keeps its global value;
 * - a `--build-arg` value overrides the default of every declaration of that name;
 * - ENV always wins over an ARG of the same name;
 * - the predefined proxy ARGs (`HTTP_PROXY`, …) reach RUN without a declaration and stay out of the
 *   image history and the cache key; build args that no ARG declared are reported as unused.
 *
 * Typical use by a builder:
 *   const args = new BuildArgs(cliBuildArgs, { automatic: automaticPlatformArgs(platform) });
 *   const fromEnv = args.resolveMeta(dockerfile.metaArgs);          // expand FROM with this
 *   const scope = args.stageScope();                                 // per stage
 *   scope.declare(argInstruction, stageEnv)                          // at each ARG
 *   const env = scope.environment(stageEnv)                          // expand/RUN with this
 *   args.unusedWarning()                                             // at the end
 */
import { expandWords, type Env, type ExpandOptions } from './expand.js';
import type { ArgInstruction } from './types.js';

const proxyArgs = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];
const platformArgs = ['TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT', 'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT'];

/**
 * The ARG names Docker defines without a declaration: the proxy variables (usable by RUN when given
 * with `--build-arg`) and BuildKit's automatic platform ARGs (visible in FROM; declare them in a
 * stage, without a value, to use them there).
 */
export function predefinedArgs(): string[] {
  return [...proxyArgs, ...platformArgs];
}

/** Whether `name` is a predefined proxy ARG (never reported unused, kept out of history). */
export function isProxyArg(name: string): boolean {
  return proxyArgs.includes(name);
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Values of the automatic platform ARGs for a build on and for `target` (`build` defaults to it). */
export function automaticPlatformArgs(target: Platform, build: Platform = target): Record<string, string> {
  const format = (p: Platform) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
  return {
    TARGETPLATFORM: format(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? '',
    BUILDPLATFORM: format(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? '',
  };
}

function toMap(env: Env | undefined): Map<string, string> {
  if (env === undefined) return new Map();
  return env instanceof Map ? new Map(env) : new Map(Object.entries(env));
}

export class BuildArgs {
  private readonly values: Map<string, string>;
  private readonly automatic: Map<string, string>;
  private readonly consumed = new Set<string>();
  private meta = new Map<string, string | undefined>();

  /**
   * @param values the `--build-arg` values.
   * @param options.automatic values of the automatic ARGs (see `automaticPlatformArgs`).
   * @param options.escape the Dockerfile's escape character, for expanding defaults.
   */
  constructor(values: Env = {}, private readonly options: { automatic?: Env; escape?: string } = {}) {
    this.values = toMap(values);
    this.automatic = toMap(options.automatic);
  }

  /**
   * Resolves the meta ARGs in order (each default may use the previous ones) and returns the
   * environment for expanding FROM lines: automatic ARGs, then the meta ARGs that have a value.
   */
  resolveMeta(metaArgs: readonly ArgInstruction[]): Map<string, string> {
    const env = new Map(this.automatic);
    this.meta = new Map();
    for (const instruction of metaArgs) {
      const snapshot = new Map(env);
      for (const arg of instruction.args) {
        const name = expandWords(arg.name, snapshot, { escape: this.options.escape, location: instruction.location, instruction: 'ARG' });
        let value: string | undefined;
        if (this.values.has(name)) value = this.values.get(name);
        else if (arg.default !== undefined) {
          value = expandWords(arg.default, snapshot, { escape: this.options.escape, location: instruction.location, instruction: 'ARG' });
        } else if (this.automatic.has(name)) value = this.automatic.get(name);
        this.consumed.add(name);
        this.meta.set(name, value);
        if (value !== undefined) env.set(name, value);
        else env.delete(name);
      }
    }
    return env;
  }

  /** A fresh scope for one stage (call `resolveMeta` first so redeclared meta ARGs get their value). */
  stageScope(): ArgScope {
    return new ArgScope(this);
  }

  /** @internal The value an ARG declaration gets, and marks the build arg consumed. */
  resolve(name: string, defaultValue: string | undefined, env: Env, options: ExpandOptions = {}): string | undefined {
    this.consumed.add(name);
    if (this.values.has(name)) return this.values.get(name);
    if (defaultValue !== undefined) return expandWords(defaultValue, env, { ...options, escape: options.escape ?? this.options.escape });
    if (this.meta.has(name)) return this.meta.get(name);
    return this.automatic.get(name);
  }

  /** The proxy ARGs given with `--build-arg`: set in every RUN's environment, never in history or cache keys. */
  proxyEnv(): Map<string, string> {
    return new Map([...this.values].filter(([name]) => isProxyArg(name)));
  }

  /** `--build-arg` names that no executed ARG declared (proxy ARGs excluded), sorted. */
  unused(): string[] {
    return [...this.values.keys()].filter((name) => !this.consumed.has(name) && !isProxyArg(name)).sort();
  }

  /** Docker's warning for `unused()`, or undefined when every build arg was consumed. */
  unusedWarning(): string | undefined {
    const unused = this.unused();
    return unused.length === 0 ? undefined : `[Warning] One or more build-args [${unused.join(' ')}] were not consumed`;
  }
}

/** The ARGs declared so far in one stage. */
export class ArgScope {
  private readonly declared = new Map<string, string | undefined>();

  constructor(private readonly buildArgs: BuildArgs) {}

  /**
   * Declares the ARGs of one instruction. `env` is the stage's environment at that point (its ENV
   * plus the ARGs already declared, i.e. `environment(stageEnv)`), used to expand names and defaults.
   * Returns each declared name with its value (undefined: declared without any value).
   */
  declare(instruction: ArgInstruction, env: Env, options: { escape?: string } = {}): Array<{ name: string; value?: string }> {
    const out: Array<{ name: string; value?: string }> = [];
    for (const arg of instruction.args) {
      const opts = { escape: options.escape, location: instruction.location, instruction: 'ARG' };
      const name = expandWords(arg.name, env, opts);
      const value = this.buildArgs.resolve(name, arg.default, env, opts);
      this.declared.set(name, value);
      out.push(value === undefined ? { name } : { name, value });
    }
    return out;
  }

  /** Whether `name` was declared in this stage. */
  has(name: string): boolean {
    return this.declared.has(name);
  }

  /** The declared ARGs that have a value, in declaration order (RUN environment, cache keys, history). */
  values(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, value] of this.declared) if (value !== undefined) out.set(name, value);
    return out;
  }

  /** The environment to expand instructions and run RUN with: these ARGs, overridden by `env` (ENV wins). */
  environment(env: Env): Map<string, string> {
    const out = this.values();
    for (const [name, value] of toMap(env)) out.set(name, value);
    return out;
  }
}
