/**
 * Plain YAML scalars resolved the way Docker Compose's YAML decoder (go-yaml) resolves them into
 * untyped values: YAML 1.2 core null/bool/float, Go's base-prefixed integers (`0o17`, `0x1f`,
 * `0b11`, and the C-style octal `0440` that file modes use), underscores in numbers ignored, and
 * everything else (timestamps, `yes`, `on`) a string.
 */

const nullWords = new Set(['', '~', 'null', 'Null', 'NULL']);
const trueWords = new Set(['true', 'True', 'TRUE']);
const falseWords = new Set(['false', 'False', 'FALSE']);
const floatPattern = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const specialFloats: Record<string, number> = {
  '.inf': Infinity, '.Inf': Infinity, '.INF': Infinity,
  '+.inf': Infinity, '+.Inf': Infinity, '+.INF': Infinity,
  '-.inf': -Infinity, '-.Inf': -Infinity, '-.INF': -Infinity,
  '.nan': NaN, '.NaN': NaN, '.NAN': NaN,
};

/** Go's strconv.ParseInt(text, 0, 64) (with underscores already removed); undefined when invalid. */
export function parseGoInt(text: string): number | undefined {
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  const sign = m[1] === '-' ? -1 : 1;
  const body = m[2]!;
  let value: number;
  if (/^0[xX]/.test(body)) value = parseInt(body.slice(2), 16);
  else if (/^0[oO]/.test(body)) value = parseInt(body.slice(2), 8);
  else if (/^0[bB]/.test(body)) value = parseInt(body.slice(2), 2);
  else if (body.length > 1 && body.startsWith('0')) value = parseInt(body.slice(1), 8);
  else value = parseInt(body, 10);
  return sign * value;
}

/** The value of a plain (unquoted, untagged) scalar. */
export function resolvePlainScalar(text: string): unknown {
  if (nullWords.has(text)) return null;
  if (trueWords.has(text)) return true;
  if (falseWords.has(text)) return false;
  const first = text.charCodeAt(0);
  const numeric = (first >= 48 && first <= 57) || text[0] === '-' || text[0] === '+' || text[0] === '.';
  if (!numeric) return text;
  if (text in specialFloats) return specialFloats[text];
  const plain = text.replace(/_/g, '');
  const int = parseGoInt(plain);
  if (int !== undefined && Number.isSafeInteger(int)) return int;
  if (floatPattern.test(plain)) return Number(plain);
  return text;
}

/** A scalar with an explicit core tag (`!!str 1`, `!!int "3"`); undefined for tags we leave alone. */
export function resolveTaggedScalar(tag: string, text: string): { value: unknown } | undefined {
  switch (tag) {
    case '!!str':
    case 'tag:yaml.org,2002:str':
      return { value: text };
    case '!!int':
    case 'tag:yaml.org,2002:int': {
      const v = parseGoInt(text.replace(/_/g, ''));
      return v === undefined ? undefined : { value: v };
    }
    case '!!float':
    case 'tag:yaml.org,2002:float': {
      const v = resolvePlainScalar(text);
      return typeof v === 'number' ? { value: v } : undefined;
    }
    case '!!bool':
    case 'tag:yaml.org,2002:bool':
      if (trueWords.has(text)) return { value: true };
      if (falseWords.has(text)) return { value: false };
      return undefined;
    case '!!null':
    case 'tag:yaml.org,2002:null':
      return { value: null };
    default:
      return undefined;
  }
}
