import { posix } from 'node:path';
import { InvalidArgumentError } from '@berth/errors';
import type { ContainerConfig } from '@berth/oci';

/**
 * `--change` for `import` and `commit`: Dockerfile instructions applied to an image's container
 * config, with Docker's rules (builder/dockerfile dispatchers):
 *
 *   CMD / ENTRYPOINT   JSON form `["a","b"]` as is; shell form → [...Shell ?? ["/bin/sh","-c"], text].
 *                      ENTRYPOINT clears an inherited CMD unless a CMD came earlier in the same changes.
 *   ENV / LABEL        `k=v k2="v 2"` (quotes, backslashes, $VAR and ${VAR} expansion) or legacy `k v`.
 *   EXPOSE             `80 443/tcp 53/udp 8000-8002` → ExposedPorts {"80/tcp":{}, ...}.
 *   VOLUME             JSON array or words. USER, WORKDIR (relative to the previous one), STOPSIGNAL.
 *   ONBUILD            the trigger text, appended to OnBuild.
 *
 * Anything else fails with Docker's `<instruction> is not a valid change command`.
 */
export function applyChanges(base: ContainerConfig, changes: readonly string[] = []): ContainerConfig {
  const config: ContainerConfig = structuredClone(base);
  let cmdSet = false;
  for (const line of changes) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(trimmed)!;
    const instruction = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    const env = envMap(config.Env);
    const need = () => {
      if (rest === '') throw new InvalidArgumentError(`${instruction} requires at least one argument`);
    };
    switch (instruction) {
      case 'CMD':
        config.Cmd = commandForm(rest, config.Shell);
        cmdSet = true;
        break;
      case 'ENTRYPOINT':
        config.Entrypoint = commandForm(rest, config.Shell);
        if (!cmdSet) config.Cmd = null;
        break;
      case 'ENV':
        need();
        for (const [k, v] of keyValues(instruction, rest, env)) {
          env.set(k, v);
          config.Env = setEnv(config.Env ?? [], k, v);
        }
        break;
      case 'LABEL':
        need();
        config.Labels ??= {};
        for (const [k, v] of keyValues(instruction, rest, env)) config.Labels[k] = v;
        break;
      case 'EXPOSE':
        need();
        config.ExposedPorts ??= {};
        for (const port of splitWords(rest, env)) for (const p of expandPort(port)) config.ExposedPorts[p] = {};
        break;
      case 'VOLUME': {
        need();
        const list = jsonArray(rest) ?? splitWords(rest, env);
        config.Volumes ??= {};
        for (const v of list) {
          if (v.trim() === '') throw new InvalidArgumentError('VOLUME specified can not be an empty string');
          config.Volumes[v] = {};
        }
        break;
      }
      case 'USER':
        need();
        config.User = processWord(rest, env);
        break;
      case 'WORKDIR': {
        need();
        const dir = processWord(rest, env);
        config.WorkingDir = posix.isAbsolute(dir) ? posix.normalize(dir) : posix.join(config.WorkingDir || '/', dir);
        break;
      }
      case 'STOPSIGNAL': {
        need();
        const signal = processWord(rest, env);
        if (!/^(?:SIG[A-Z0-9+-]+|[0-9]+|RTMIN\+\d+|RTMAX-\d+)$/i.test(signal)) {
          throw new InvalidArgumentError(`Invalid signal: ${signal}`);
        }
        config.StopSignal = signal;
        break;
      }
      case 'ONBUILD': {
        need();
        const trigger = rest.split(/\s+/)[0]!.toUpperCase();
        if (trigger === 'ONBUILD') throw new InvalidArgumentError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
        if (trigger === 'FROM' || trigger === 'MAINTAINER') {
          throw new InvalidArgumentError(`${trigger} isn't allowed as an ONBUILD trigger`);
        }
        config.OnBuild = [...(config.OnBuild ?? []), rest];
        break;
      }
      default:
        throw new InvalidArgumentError(`${instruction.toLowerCase()} is not a valid change command`);
    }
  }
  return config;
}

function commandForm(rest: string, shell: string[] | undefined): string[] {
  return jsonArray(rest) ?? [...(shell && shell.length > 0 ? shell : ['/bin/sh', '-c']), rest];
}

/** A JSON array of strings, or undefined when `s` is not one (then it is shell form, as in Docker). */
function jsonArray(s: string): string[] | undefined {
  if (!s.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(s);
    return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function envMap(env: string[] | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    map.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
  }
  return map;
}

function setEnv(env: string[], key: string, value: string): string[] {
  const entry = `${key}=${value}`;
  const i = env.findIndex((e) => e === key || e.startsWith(`${key}=`));
  return i < 0 ? [...env, entry] : env.map((e, j) => (j === i ? entry : e));
}

function keyValues(instruction: string, rest: string, env: Map<string, string>): Array<[string, string]> {
  const firstWord = rest.split(/\s+/)[0]!;
  if (!firstWord.includes('=')) {
    // Legacy form: `ENV key the rest of the line`.
    const value = rest.slice(firstWord.length).trim();
    if (value === '' && instruction === 'ENV') {
      throw new InvalidArgumentError(`ENV must have two arguments`);
    }
    return [[processWord(firstWord, env), processWord(value, env)]];
  }
  return splitWords(rest, env).map((word) => {
    const i = word.indexOf('=');
    if (i < 0) {
      throw new InvalidArgumentError(`Syntax error - can't find = in "${word}". Must be of the form: name=value`);
    }
    if (i === 0) throw new InvalidArgumentError(`${instruction} names can not be blank`);
    return [word.slice(0, i), word.slice(i + 1)];
  });
}

function expandPort(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!m) throw new InvalidArgumentError(`invalid containerPort: ${spec}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (start < 1 || end > 65535 || end < start) throw new InvalidArgumentError(`invalid containerPort: ${spec}`);
  return Array.from({ length: end - start + 1 }, (_, i) => `${start + i}/${proto}`);
}

/** One word with quotes removed and variables expanded (no splitting on spaces). */
function processWord(s: string, env: Map<string, string>): string {
  return lex(s, env, false).join('');
}

/** Words split on unquoted whitespace, quotes removed and variables expanded, as Docker's shell lexer. */
export function splitWords(s: string, env: Map<string, string> = new Map()): string[] {
  return lex(s, env, true);
}

function lex(s: string, env: Map<string, string>, split: boolean): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const variable = (): string => {
    // s[i] === '$'
    if (s[i + 1] === '{') {
      const close = s.indexOf('}', i + 2);
      if (close < 0) throw new InvalidArgumentError(`Missing '}' in "${s}"`);
      const body = s.slice(i + 2, close);
      i = close + 1;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::([-+])(.*))?$/s.exec(body);
      if (!m) throw new InvalidArgumentError(`Bad substitution: "\${${body}}"`);
      const value = env.get(m[1]!);
      if (m[2] === '-') return value ? value : processWord(m[3]!, env);
      if (m[2] === '+') return value ? processWord(m[3]!, env) : '';
      return value ?? '';
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i + 1));
    if (!m) {
      i += 1;
      return '$';
    }
    i += 1 + m[0].length;
    return env.get(m[0]) ?? '';
  };
  while (i < s.length) {
    const c = s[i]!;
    if (split && /\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const close = s.indexOf("'", i + 1);
      if (close < 0) throw new InvalidArgumentError(`Unexpected end of statement while looking for matching single-quote in "${s}"`);
      word += s.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= s.length) throw new InvalidArgumentError(`Unexpected end of statement while looking for matching double-quote in "${s}"`);
        const d = s[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < s.length && '"\\$'.includes(s[i + 1]!)) {
          word += s[i + 1];
          i += 2;
        } else if (d === '$') {
          word += variable();
        } else {
          word += d;
          i++;
        }
      }
    } else if (c === '\\' && i + 1 < s.length) {
      word += s[i + 1];
      i += 2;
    } else if (c === '$') {
      word += variable();
    } else {
      word += c;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
