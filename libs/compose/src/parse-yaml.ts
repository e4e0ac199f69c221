import { type Event, getScalarValue, parseEvents, YAMLException } from 'js-yaml';
import { composeError, pathString } from './compose-error.js';
import { resolvePlainScalar, resolveTaggedScalar } from './yaml-scalar.js';

/**
 * Phase 1: YAML text → plain values, as Compose's loader reads a file: anchors and aliases expanded
 * (with a node budget, so an alias bomb is refused at once instead of exhausting memory), `<<`
 * merge keys, `!reset` / `!override` tags recorded by path (the merge phase applies them), and the
 * source line of every field kept for error messages. Several documents in one file are returned
 * in order; Compose merges them like successive `-f` files.
 */

export type PathSegments = Array<string | number>;

export interface YamlDocument {
  /** The document's root value (a mapping for any valid Compose file). */
  value: unknown;
  /** Paths tagged `!reset`: removed from what earlier files defined, and from this document. */
  resets: PathSegments[];
  /** Paths tagged `!override`: what earlier files defined there is replaced, not merged. */
  overrides: PathSegments[];
  /** 1-based line of each field, by field path (`services.web.ports[1]`). */
  lines: Map<string, number>;
}

export interface ParseYamlOptions {
  /**
   * Most values a document may expand to, aliases included. A billion-laughs file reaches it
   * after a few microseconds of work and is refused with a clear error.
   */
  maxNodes?: number;
}

const defaultMaxNodes = 200_000;

interface MapFrame {
  kind: 'map';
  value: Record<string, unknown>;
  path: PathSegments;
  line: number;
  anchor?: string;
  tag?: string;
  key?: string;
  keyLine: number;
  keyIsMerge: boolean;
  explicit: Set<string>;
  merges: Array<{ value: unknown; line: number }>;
}

interface SeqFrame {
  kind: 'seq';
  value: unknown[];
  path: PathSegments;
  line: number;
  anchor?: string;
  tag?: string;
}

type Frame = MapFrame | SeqFrame;

/** Sets a key on a plain object, including `__proto__`, without touching the prototype. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

/** Parses every document of one Compose file. Throws the Compose error naming `file` and the line. */
export function parseYamlDocuments(text: string, file: string, options: ParseYamlOptions = {}): YamlDocument[] {
  const maxNodes = options.maxNodes ?? defaultMaxNodes;
  let events: Event[];
  try {
    events = parseEvents(text, { filename: file, maxDepth: 200 });
  } catch (e) {
    if (e instanceof YAMLException) {
      const line = e.mark ? e.mark.line + 1 : undefined;
      throw composeError({ file, line }, `invalid YAML: ${e.reason}`, { cause: e });
    }
    throw e;
  }
  const index = new LineIndex(text);
  const docs: YamlDocument[] = [];
  let nodes = 0;
  const count = (line: number) => {
    if (++nodes > maxNodes) {
      throw composeError(
        { file, line, path: pathString(childPath()) || undefined },
        `document expands to more than ${maxNodes} values (YAML aliases nested too deeply, an "alias bomb"?); refusing to load it`,
      );
    }
  };
  const copy = (v: unknown, line: number): unknown => {
    count(line);
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((item) => copy(item, line));
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v)) setOwn(out, k, copy(item, line));
    return out;
  };

  let doc: YamlDocument | undefined;
  let root: { set: boolean; value: unknown } = { set: false, value: null };
  let anchors = new Map<string, unknown>();
  const stack: Frame[] = [];
  const slice = (start: number, end: number) => (start >= 0 ? text.slice(start, end) : undefined);

  const deliver = (value: unknown, line: number, tag: string | undefined, plainKey: boolean) => {
    const top = stack[stack.length - 1];
    if (!top) {
      root = { set: true, value };
      return;
    }
    if (top.kind === 'seq') {
      const path = [...top.path, top.value.length];
      doc!.lines.set(pathString(path), line);
      if (tag === '!reset' || tag === '!override') {
        // As Compose: tags on sequence items are accepted but apply to nothing.
      }
      top.value.push(value);
      return;
    }
    if (top.key === undefined) {
      if (value !== null && typeof value === 'object') {
        throw composeError({ file, path: pathString(top.path), line }, 'mapping keys must be strings, not collections');
      }
      if (plainKey && value === '<<') {
        top.key = '<<';
        top.keyIsMerge = true;
      } else {
        if (typeof value !== 'string') {
          throw composeError({ file, path: pathString(top.path), line }, `non-string key ${JSON.stringify(value)}: quote it to make it a string`);
        }
        if (top.explicit.has(value)) {
          throw composeError(
            { file, path: pathString([...top.path, value]), line },
            `mapping key "${value}" already defined at line ${doc!.lines.get(pathString([...top.path, value]))}`,
          );
        }
        top.key = value;
        top.keyIsMerge = false;
      }
      top.keyLine = line;
      return;
    }
    const key = top.key;
    top.key = undefined;
    if (top.keyIsMerge) {
      top.merges.push({ value, line: top.keyLine });
      return;
    }
    const path = [...top.path, key];
    top.explicit.add(key);
    doc!.lines.set(pathString(path), top.keyLine);
    if (tag === '!reset') {
      doc!.resets.push(path);
      return;
    }
    if (tag === '!override') doc!.overrides.push(path);
    setOwn(top.value, key, value);
  };

  const closeMap = (frame: MapFrame) => {
    for (const merge of frame.merges) {
      const sources = Array.isArray(merge.value) ? merge.value : [merge.value];
      for (const source of sources) {
        if (source === null || typeof source !== 'object' || Array.isArray(source)) {
          throw composeError({ file, path: pathString(frame.path), line: merge.line }, 'merge key "<<" must refer to a mapping or a list of mappings');
        }
        for (const [k, v] of Object.entries(source)) {
          if (frame.explicit.has(k)) continue;
          frame.explicit.add(k);
          doc!.lines.set(pathString([...frame.path, k]), merge.line);
          setOwn(frame.value, k, v);
        }
      }
    }
  };

  const childPath = (): PathSegments => {
    const top = stack[stack.length - 1];
    if (!top) return [];
    if (top.kind === 'seq') return [...top.path, top.value.length];
    return top.key === undefined || top.keyIsMerge ? top.path : [...top.path, top.key];
  };

  for (const ev of events) {
    switch (ev.type) {
      case 1: // document
        doc = { value: null, resets: [], overrides: [], lines: new Map() };
        root = { set: false, value: null };
        anchors = new Map();
        break;
      case 2: // sequence
      case 3: {
        // mapping
        const line = index.lineOf(ev.start);
        count(line);
        const frame: Frame =
          ev.type === 2
            ? { kind: 'seq', value: [], path: childPath(), line }
            : { kind: 'map', value: {}, path: childPath(), line, keyLine: line, keyIsMerge: false, explicit: new Set(), merges: [] };
        frame.anchor = slice(ev.anchorStart, ev.anchorEnd);
        frame.tag = slice(ev.tagStart, ev.tagEnd);
        stack.push(frame);
        break;
      }
      case 4: {
        // scalar
        const line = index.lineOf(ev.valueStart);
        count(line);
        const raw = getScalarValue(text, ev);
        const tag = slice(ev.tagStart, ev.tagEnd);
        let value: unknown = raw;
        const tagged = tag && tag !== '!' ? resolveTaggedScalar(tag, raw) : undefined;
        if (tagged) value = tagged.value;
        else if (ev.style === 1 && (!tag || tag === '!reset' || tag === '!override')) value = resolvePlainScalar(raw);
        const anchor = slice(ev.anchorStart, ev.anchorEnd);
        if (anchor !== undefined) anchors.set(anchor, value);
        deliver(value, line, tag, ev.style === 1 && !tag);
        break;
      }
      case 5: {
        // alias
        const name = text.slice(ev.anchorStart, ev.anchorEnd);
        const line = index.lineOf(ev.anchorStart);
        if (!anchors.has(name)) throw composeError({ file, path: pathString(childPath()), line }, `unknown anchor "${name}" referenced`);
        deliver(copy(anchors.get(name), line), line, undefined, false);
        break;
      }
      case 6: {
        // end of a collection or of the document
        const frame = stack.pop();
        if (!frame) {
          if (doc && root.set) {
            doc.value = root.value;
            docs.push(doc);
          }
          doc = undefined;
          break;
        }
        if (frame.kind === 'map') closeMap(frame);
        if (frame.anchor !== undefined) anchors.set(frame.anchor, frame.value);
        deliver(frame.value, frame.line, frame.tag, false);
        break;
      }
    }
  }
  return docs;
}
