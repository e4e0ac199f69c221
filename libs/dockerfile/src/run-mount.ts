/**
 * `RUN --mount=…` specifications (CSV, like BuildKit's `commands_runmount.go`): type, source,
 * target, read-only, cache sharing, secret ids. Values stay unexpanded; `expandInstruction` expands
 * them per step.
 */
import { excerpt } from './dockerfile-error.js';
import { InstructionError } from './instruction-error.js';
import type { RunMount } from './types.js';

/** The keys whose value the mount keeps as it is (expanded later), by the field they set. */
const textFields = new Map<string, 'from' | 'source' | 'target' | 'id' | 'mode' | 'uid' | 'gid' | 'size' | 'env'>([
  ['from', 'from'],
  ['source', 'source'],
  ['src', 'source'],
  ['target', 'target'],
  ['dst', 'target'],
  ['destination', 'target'],
  ['id', 'id'],
  ['mode', 'mode'],
  ['uid', 'uid'],
  ['gid', 'gid'],
  ['size', 'size'],
  ['env', 'env'],
]);

/** `--mount=type=cache,target=/root/.cache,sharing=locked` (CSV, like BuildKit). */
export function parseMount(spec: string): RunMount {
  const mount: RunMount = { type: 'bind', readonly: false, options: {} };
  let readonlySet = false;
  for (const field of splitCsv(spec)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    if (value === undefined) {
      if (key === 'readonly' || key === 'ro') {
        mount.readonly = true;
        readonlySet = true;
      } else if (key === 'readwrite' || key === 'rw') {
        mount.readonly = false;
        readonlySet = true;
      } else if (key === 'required') {
        mount.required = true;
      } else {
        throw new InstructionError(`unexpected key '${excerpt(key)}' in '${excerpt(field)}'`);
      }
      mount.options[key] = 'true';
      continue;
    }
    mount.options[key] = value;
    const textField = textFields.get(key);
    if (textField) {
      mount[textField] = value;
      continue;
    }
    switch (key) {
      case 'type':
        if (!['bind', 'cache', 'tmpfs', 'secret', 'ssh'].includes(value)) {
          throw new InstructionError(`unsupported mount type "${excerpt(value)}"`);
        }
        mount.type = value as RunMount['type'];
        break;
      case 'readonly':
      case 'ro':
      case 'readwrite':
      case 'rw': {
        const b = parseBool(value);
        if (b === undefined) throw new InstructionError(`invalid value for ${key}: ${excerpt(value)}`);
        mount.readonly = key === 'readonly' || key === 'ro' ? b : !b;
        readonlySet = true;
        break;
      }
      case 'required': {
        const b = parseBool(value);
        if (b === undefined) throw new InstructionError(`invalid value for ${key}: ${excerpt(value)}`);
        mount.required = b;
        break;
      }
      case 'sharing':
        if (!['shared', 'private', 'locked'].includes(value)) {
          throw new InstructionError(`unsupported sharing value "${excerpt(value)}"`);
        }
        mount.sharing = value as RunMount['sharing'];
        break;
      default:
        throw new InstructionError(`unexpected key '${excerpt(key)}' in '${excerpt(field)}'`);
    }
  }
  // Bind mounts are read-only unless `rw` is given (BuildKit's default).
  if (mount.type === 'bind' && !readonlySet) mount.readonly = true;
  if (mount.type === 'cache' && mount.sharing === undefined) mount.sharing = 'shared';
  if (mount.type === 'secret' && mount.target === undefined && mount.env === undefined) {
    if (mount.id === undefined && mount.source === undefined) {
      throw new InstructionError('secret mount requires an id or a target');
    }
    mount.target = `/run/secrets/${mount.id ?? mount.source}`;
  }
  if ((mount.type === 'bind' || mount.type === 'cache' || mount.type === 'tmpfs') && mount.target === undefined) {
    throw new InstructionError(`mount destination not set: --mount=${excerpt(spec)} needs target=<path>`);
  }
  if (mount.type === 'cache' && mount.id === undefined) mount.id = mount.target;
  return mount;
}

function parseBool(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (['1', 't', 'true'].includes(v)) return true;
  if (['0', 'f', 'false'].includes(v)) return false;
  return undefined;
}

function splitCsv(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) throw new InstructionError(`invalid mount specification "${excerpt(text)}": unterminated quote`);
  fields.push(field);
  return fields.filter((f) => f !== '');
}

