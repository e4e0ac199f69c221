import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalModel } from './canonical.js';
import { parseDotenv } from './dotenv.js';
import { interpolateModel } from './interpolate.js';
import { applyResets, enforceUnicity, mergeModels } from './merge.js';
import { normalizeModel } from './normalize.js';
import { parseYamlDocuments } from './parse-yaml.js';

/**
 * Each phase alone, on golden input/output pairs in testdata/phases/<phase>/: NAME.yaml is the
 * input (NAME.env the variables, for interpolation), NAME.expected.json the exact result. A
 * missing expected file fails; UPDATE_GOLDEN=1 writes it.
 */

type Dict = Record<string, unknown>;
const root = resolve(import.meta.dirname, '../testdata/phases');
const update = process.env.UPDATE_GOLDEN === '1';

const phases: Record<string, (text: string, name: string, dir: string) => unknown> = {
  yaml: (text, name) => parseYamlDocuments(text, `${name}.yaml`).map((d) => ({ value: d.value, resets: d.resets, overrides: d.overrides })),
  interpolate: (text, name, dir) => {
    const env = parseDotenv(readFileSync(join(dir, `${name}.env`), 'utf8'), { file: `${name}.env` });
    const [doc] = parseYamlDocuments(text, `${name}.yaml`);
    return interpolateModel(doc!.value, { file: `${name}.yaml`, lookup: (n) => env.get(n) });
  },
  canonical: (text, name) => canonicalModel(parseYamlDocuments(text, `${name}.yaml`)[0]!.value as Dict, { file: `${name}.yaml` }),
  merge: (text, name) => {
    let acc: Dict = {};
    for (const doc of parseYamlDocuments(text, `${name}.yaml`)) {
      const model = canonicalModel(doc.value as Dict, { file: `${name}.yaml` });
      applyResets(acc, [...doc.resets, ...doc.overrides]);
      acc = mergeModels(acc, model);
      enforceUnicity(acc);
    }
    return acc;
  },
  normalize: (text, name) => {
    const model = canonicalModel(parseYamlDocuments(text, `${name}.yaml`)[0]!.value as Dict, { file: `${name}.yaml` });
    return normalizeModel(model, { projectName: 'phase', environment: new Map([['FROM_ENV', 'from-env']]) });
  },
};

for (const [phase, run] of Object.entries(phases)) {
  describe(`phase: ${phase}`, () => {
    const dir = join(root, phase);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
      const name = file.slice(0, -'.yaml'.length);
      it(name, () => {
        const actual = `${JSON.stringify(run(readFileSync(join(dir, file), 'utf8'), name, dir), null, 2)}\n`;
        const expected = join(dir, `${name}.expected.json`);
        if (update) writeFileSync(expected, actual);
        else if (!existsSync(expected)) throw new Error(`missing golden file ${expected}: run UPDATE_GOLDEN=1 npx vitest run libs/compose`);
        else expect(actual).toBe(readFileSync(expected, 'utf8'));
      });
    }
  });
}
