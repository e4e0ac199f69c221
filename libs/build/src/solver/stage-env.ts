import type { ArgScope } from '@berth/dockerfile';
import type { ImageConfig } from '@berth/oci';
import { StepEnv } from '../frontend/step-env.js';

/**
 * A stage's environment, kept up to date step by step: the image config's `Env` (what ENV sets,
 * in order) and the variables instructions are expanded with (the stage's ARGs that have a value,
 * overridden by ENV). An ENV or ARG step costs the same after 10 or 20,000 others: rebuilding both
 * for every step made 5,000 ENV lines take 7 s.
 *
 * The config's `Env` array is indexed where it is: a layer step taken from the cache puts back
 * the config it recorded (a copy), and the index is then rebuilt once.
 */
export class StageEnv {
  readonly #config: () => ImageConfig;
  readonly #args: ArgScope;
  readonly #escape: string;
  /** The `Env` array indexed, and each name's position in it. */
  #indexed?: string[];
  #ready = false;
  readonly #positions = new Map<string, number>();
  /** ARGs with a value overlaid by ENV: what `$NAME` expands to. */
  readonly #vars = new Map<string, string>();

  constructor(config: () => ImageConfig, args: ArgScope, options: { escape: string }) {
    this.#config = config;
    this.#args = args;
    this.#escape = options.escape;
  }

  /** The expansion of the current step. Valid until the next ENV or ARG step. */
  step(): StepEnv {
    this.#sync();
    return new StepEnv(this.#vars, this.#escape);
  }

  /** Whether ENV set `name` (ENV wins over an ARG of that name). */
  has(name: string): boolean {
    this.#sync();
    return this.#positions.has(name);
  }

  /** `ENV name=value`: replaced where it was when set before (as Docker does), else appended. */
  set(name: string, value: string): void {
    let env = this.#sync();
    if (!env) {
      env = (this.#config().config ??= {}).Env = [];
      this.#indexed = env;
    }
    const entry = `${name}=${value}`;
    const at = this.#positions.get(name);
    if (at === undefined) {
      this.#positions.set(name, env.length);
      env.push(entry);
    } else {
      env[at] = entry;
    }
    this.#vars.set(name, value);
  }

  /** `ARG name[=value]` declared (value undefined: declared without one); ENV of that name still wins. */
  declare(name: string, value: string | undefined): void {
    this.#sync();
    if (this.#positions.has(name)) return;
    if (value === undefined) this.#vars.delete(name);
    else this.#vars.set(name, value);
  }

  /** The config's `Env` (undefined while it has none), indexed. */
  #sync(): string[] | undefined {
    const env = this.#config().config?.Env;
    if (env === this.#indexed && this.#ready) return env;
    this.#ready = true;
    this.#indexed = env;
    this.#positions.clear();
    this.#vars.clear();
    for (const [name, value] of this.#args.values()) this.#vars.set(name, value);
    for (const [i, entry] of (env ?? []).entries()) {
      const eq = entry.indexOf('=');
      if (eq <= 0) continue;
      const name = entry.slice(0, eq);
      if (!this.#positions.has(name)) this.#positions.set(name, i); // the one ENV replaces, as Docker
      this.#vars.set(name, entry.slice(eq + 1));
    }
    return env;
  }
}
