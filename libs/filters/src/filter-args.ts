import { InvalidArgumentError } from '@berth/errors';

/** Filters as they arrive: the gRPC pairs (`[{ key, value }]`) or Docker's JSON form (`{ key: [values] }`). */
export type FilterInput = ReadonlyArray<{ key: string; value: string }> | Readonly<Record<string, readonly string[]>>;

/** Go's `%s` of a string slice, as Docker's messages print filter values: `[a b]`. */
export function formatFilterValues(values: readonly string[]): string {
  return `[${values.join(' ')}]`;
}

/**
 * Docker's `filters.Args` (moby api/types/filters), the one set of rules every `--filter` of
 * `ps`, `images`, `volume ls`, `network ls`, `events` and the prunes follows: a key holds a set of
 * values; each command checks its keys one after the other (different keys AND), and for most keys
 * any value may match (same key OR). Labels are the exception: `matchKVList` wants every given
 * `label` to hold.
 *
 * A key whose filter is absent matches everything: `exactMatch('status', x)` is true when no
 * `status` filter was given.
 */
export class FilterArgs {
  readonly #fields = new Map<string, Set<string>>();

  /** The filters of a request, in either form (none: an empty set). */
  static from(input?: FilterInput | FilterArgs): FilterArgs {
    if (input instanceof FilterArgs) return input;
    const args = new FilterArgs();
    if (input === undefined) return args;
    if (Array.isArray(input)) {
      for (const { key, value } of input as ReadonlyArray<{ key: string; value: string }>) args.add(key, value);
    } else {
      for (const [key, values] of Object.entries(input as Record<string, readonly string[]>)) {
        if (!args.#fields.has(key)) args.#fields.set(key, new Set());
        for (const value of values) args.add(key, value);
      }
    }
    return args;
  }

  add(key: string, value: string): void {
    const values = this.#fields.get(key) ?? new Set<string>();
    values.add(value);
    this.#fields.set(key, values);
  }

  keys(): string[] {
    return [...this.#fields.keys()];
  }

  /** The key's values (empty when the key was not given). */
  get(key: string): string[] {
    return [...(this.#fields.get(key) ?? [])];
  }

  has(key: string): boolean {
    return this.#fields.has(key);
  }

  get size(): number {
    return this.#fields.size;
  }

  /** `{ key: [values] }`, Docker's JSON form. */
  toRecord(): Record<string, string[]> {
    return Object.fromEntries([...this.#fields].map(([k, v]) => [k, [...v]]));
  }

  /** InvalidArgumentError `invalid filter 'x'` for the first key that is not `accepted`. */
  validate(accepted: readonly string[]): this {
    for (const key of this.#fields.keys()) {
      if (!accepted.includes(key)) throw new InvalidArgumentError(`invalid filter '${key}'`);
    }
    return this;
  }

  /** True when `source` is one of the key's values (or the key was not given). */
  exactMatch(key: string, source: string): boolean {
    const values = this.#fields.get(key);
    if (!values || values.size === 0) return true;
    return values.has(source);
  }

  /** True when the key has exactly one value and it is `source` (or the key was not given). */
  uniqueExactMatch(key: string, source: string): boolean {
    const values = this.#fields.get(key);
    if (!values || values.size === 0) return true;
    return values.size === 1 && values.has(source);
  }

  /** Exact, or `source` starts with one of the values (ids by prefix). */
  fuzzyMatch(key: string, source: string): boolean {
    if (this.exactMatch(key, source)) return true;
    return [...this.#fields.get(key)!].some((prefix) => source.startsWith(prefix));
  }

  /** Exact, or one of the values is a regular expression found in `source` (names); bad expressions never match. */
  match(key: string, source: string): boolean {
    if (this.exactMatch(key, source)) return true;
    return [...this.#fields.get(key)!].some((pattern) => {
      try {
        return new RegExp(pattern).test(source);
      } catch {
        return false; // Go's regexp.MatchString error: this value simply does not match
      }
    });
  }

  /**
   * Every value of the key (`k` or `k=v`) holds in `labels`: `k` is present, `k=v` is equal. True
   * when the key was not given; false for no labels at all.
   */
  matchKVList(key: string, labels: Readonly<Record<string, string>> | null | undefined): boolean {
    const values = this.#fields.get(key);
    if (!values || values.size === 0) return true;
    if (!labels || Object.keys(labels).length === 0) return false;
    for (const value of values) {
      const eq = value.indexOf('=');
      const k = eq < 0 ? value : value.slice(0, eq);
      if (!Object.hasOwn(labels, k)) return false;
      if (eq >= 0 && labels[k] !== value.slice(eq + 1)) return false;
    }
    return true;
  }

  /**
   * A boolean filter (`dangling`): true for `true`/`1`, false for `false`/`0`, `fallback` when
   * absent. InvalidArgumentError `invalid filter 'dangling=[x]'` for another value or both at once.
   */
  boolOrDefault(key: string, fallback: boolean): boolean {
    const values = this.#fields.get(key);
    if (!values) return fallback;
    if (values.size === 0) throw new InvalidArgumentError(`invalid filter '${key}'`);
    const isFalse = values.has('0') || values.has('false');
    const isTrue = values.has('1') || values.has('true');
    if (isFalse === isTrue) throw new InvalidArgumentError(`invalid filter '${key}=${formatFilterValues(this.get(key))}'`);
    return isTrue;
  }
}

