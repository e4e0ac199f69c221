/**
 * The short syntax of service `volumes` (`[SOURCE:]TARGET[:OPTIONS]`), parsed as Compose does
 * (compose-go `format.ParseVolume`): a source starting with `.`, `/` or `~` is a bind mount (which
 * creates the host path, as docker-compose always did), any other source names a volume, no source
 * is an anonymous volume; options `ro`, `rw`, `nocopy`, `z`, `Z` and the propagation modes.
 */

export interface VolumeMount {
  type: string;
  source?: string;
  target: string;
  read_only?: boolean;
  bind?: { selinux?: string; propagation?: string; create_host_path?: boolean };
  volume?: { nocopy?: boolean };
}

const propagations = new Set(['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave']);

export function isBindSource(source: string): boolean {
  return source.startsWith('.') || source.startsWith('/') || source.startsWith('~') || source.startsWith('\\\\') || /^[a-zA-Z]:[\\/]/.test(source);
}

/** Parses one short-syntax volume; throws an Error whose message says what is wrong. */
export function parseVolumeSpec(spec: string): VolumeMount {
  if (spec.length === 0) throw new Error('empty volume specification');
  const fields: string[] = [];
  let buffer = '';
  let braces = 0;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (c === '{') braces++;
    else if (c === '}' && braces > 0) braces--;
    if (c === ':' && braces === 0 && !(buffer.length === 1 && /[a-zA-Z]/.test(buffer) && /[\\/]/.test(spec[i + 1] ?? ''))) {
      if (buffer === '') throw new Error('empty section between colons');
      fields.push(buffer);
      buffer = '';
      continue;
    }
    buffer += c;
  }
  if (buffer === '') throw new Error('empty section between colons');
  fields.push(buffer);
  if (fields.length > 3) throw new Error('too many colons');
  const mount: VolumeMount = { type: 'volume', target: '' };
  let options: string | undefined;
  if (fields.length === 1) mount.target = fields[0]!;
  else {
    mount.source = fields[0]!;
    mount.target = fields[1]!;
    options = fields[2];
  }
  let bind: VolumeMount['bind'];
  let nocopy = false;
  for (const option of options ? options.split(',') : []) {
    if (option === 'ro') mount.read_only = true;
    else if (option === 'rw') mount.read_only = false;
    else if (option === 'nocopy') nocopy = true;
    else if (option === 'z' || option === 'Z') bind = { ...bind, selinux: option };
    else if (propagations.has(option)) bind = { ...bind, propagation: option };
    // other options are ignored, as Compose does
  }
  const out: VolumeMount = { type: 'volume', ...(mount.source !== undefined ? { source: mount.source } : {}), target: mount.target };
  if (mount.read_only) out.read_only = true;
  if (mount.source !== undefined && isBindSource(mount.source)) {
    out.type = 'bind';
    out.bind = { ...(bind?.selinux ? { selinux: bind.selinux } : {}), ...(bind?.propagation ? { propagation: bind.propagation } : {}), create_host_path: true };
  } else {
    if (bind) out.bind = bind;
    out.volume = nocopy ? { nocopy: true } : {};
  }
  return out;
}
