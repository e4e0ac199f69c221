/**
 * Import cycles, found from the sources (no build): between files of one project through relative
 * imports, and between projects through `@berth/*` imports of their production files (a test of
 * libs/events may use libs/testing, which starts the platform, which uses libs/events: no module
 * imports itself through that). Type-only imports count: a cycle of types is still two modules that
 * cannot be understood one without the other.
 *
 *   npx tsx tools/import-cycles.ts      prints every cycle not in KNOWN_CYCLES; exits 1 if any
 *
 * ESLint's import/no-cycle does the same per file but needs eslint-plugin-import; Nx's boundaries
 * rule finds cycles between projects only.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** A set of files that import each other, and one cycle through them to show. */
export interface ImportCycle {
  /** The project's name, or `projects` for a cycle between projects. */
  project: string;
  /** Repository-relative files (or project names), sorted. */
  members: string[];
  /** One path around the cycle, first element repeated at the end. */
  path: string[];
}

interface Project {
  name: string;
  root: string;
}

const SKIP_DIRS = new Set(['node_modules', 'dist', '.nx', '.git', 'testdata']);
const isTestFile = (file: string) => /\.test\.ts$|\/test-support\.ts$/.test(file);

/** Every project (a directory with a project.json) under `repo`. */
export function findProjects(repo: string): Project[] {
  const found: Project[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(repo, dir), { withFileTypes: true })) {
      if (!entry.isDirectory() || SKIP_DIRS.has(entry.name)) continue;
      const sub = dir ? `${dir}/${entry.name}` : entry.name;
      const file = join(repo, sub, 'project.json');
      if (existsSync(file)) found.push({ name: JSON.parse(readFileSync(file, 'utf8')).name ?? entry.name, root: sub });
      walk(sub);
    }
  };
  walk('');
  return found;
}

function tsFiles(repo: string, root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(repo, dir), { withFileTypes: true })) {
      const sub = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name) && !existsSync(join(repo, sub, 'project.json'))) walk(sub);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(sub);
    }
  };
  walk(root);
  return files;
}

/** `./x.js` → `x.ts` (ESM spelling of a TypeScript file), `./x` → `x.ts` or `x/index.ts`. */
function resolveRelative(repo: string, from: string, specifier: string): string | undefined {
  const base = join(dirname(from), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, `${base}/index.ts`];
  return candidates.find((c) => c.endsWith('.ts') && existsSync(join(repo, c)));
}

/** Strongly connected components of size > 1, or a node importing itself (Tarjan). */
function stronglyConnected(graph: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.has(v)) components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components;
}

/** A shortest cycle through the component's first member (breadth-first inside the component). */
function cycleThrough(graph: Map<string, Set<string>>, members: string[]): string[] {
  const inside = new Set(members);
  const start = members[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let at: string | undefined = v; at !== undefined && at !== start; at = previous.get(at)) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Every import cycle in the repository at `repo`. */
export function findImportCycles(repo: string): ImportCycle[] {
  const projects = findProjects(repo);
  const paths = JSON.parse(readFileSync(join(repo, 'tsconfig.base.json'), 'utf8')).compilerOptions.paths as Record<string, string[]>;
  const projectOfFile = (file: string) =>
    projects.filter((p) => file.startsWith(`${p.root}/`)).sort((a, b) => b.root.length - a.root.length)[0];
  const aliasProject = new Map<string, string>();
  for (const [alias, [target]] of Object.entries(paths)) {
    const owner = projectOfFile(target!);
    if (owner) aliasProject.set(alias, owner.name);
  }

  const cycles: ImportCycle[] = [];
  const between = new Map<string, Set<string>>(projects.map((p) => [p.name, new Set<string>()]));
  for (const project of projects) {
    const within = new Map<string, Set<string>>();
    for (const file of tsFiles(repo, project.root)) {
      const edges = new Set<string>();
      within.set(file, edges);
      const { importedFiles } = ts.preProcessFile(readFileSync(join(repo, file), 'utf8'), true, true);
      for (const { fileName: specifier } of importedFiles) {
        if (specifier.startsWith('.')) {
          const target = resolveRelative(repo, file, specifier);
          if (!target) continue;
          const owner = projectOfFile(target);
          if (owner?.name === project.name) edges.add(target);
          else if (owner && !isTestFile(file)) between.get(project.name)!.add(owner.name);
        } else {
          const owner = aliasProject.get(specifier);
          if (owner && owner !== project.name && !isTestFile(file)) between.get(project.name)!.add(owner);
        }
      }
    }
    for (const members of stronglyConnected(within)) cycles.push({ project: project.name, members, path: cycleThrough(within, members) });
  }
  for (const members of stronglyConnected(between)) cycles.push({ project: 'projects', members, path: cycleThrough(between, members) });
  return cycles;
}

/**
 * Cycles that exist today in code being reshaped by issue 10; each entry allows a cycle whose
 * members are all listed. Remove an entry when its cycle is gone (the check says so).
 */
export const KNOWN_CYCLES: Array<{ project: string; files: string[]; why: string }> = [];

/** Splits `cycles` into those KNOWN_CYCLES allows and the rest; also the entries nothing matched. */
export function checkCycles(cycles: ImportCycle[], known = KNOWN_CYCLES) {
  const used = new Set<number>();
  const allowed: ImportCycle[] = [];
  const fresh: ImportCycle[] = [];
  for (const cycle of cycles) {
    const i = known.findIndex((k) => k.project === cycle.project && cycle.members.every((m) => k.files.includes(m)));
    if (i >= 0) {
      used.add(i);
      allowed.push(cycle);
    } else fresh.push(cycle);
  }
  return { allowed, fresh, stale: known.filter((_, i) => !used.has(i)) };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const repo = resolve(import.meta.dirname, '..');
  const { allowed, fresh, stale } = checkCycles(findImportCycles(repo));
  const show = (c: ImportCycle) => `${c.project}: ${c.path.map((p) => relative(repo, join(repo, p))).join(' → ')}`;
  for (const c of allowed) console.log(`known import cycle (issue 10): ${show(c)}`);
  for (const k of stale) console.log(`no longer a cycle: remove it from KNOWN_CYCLES in tools/import-cycles.ts: ${k.project}: ${k.files.join(', ')}`);
  for (const c of fresh) console.error(`import cycle: ${show(c)}`);
  if (fresh.length > 0) {
    console.error(`${fresh.length} import cycle${fresh.length === 1 ? '' : 's'}: move what both sides need into a module of its own`);
    process.exit(1);
  }
}
