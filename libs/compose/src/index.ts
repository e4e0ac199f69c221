/**
 * @berth/compose — the Compose project model: load, interpolate, merge, validate (JSON schema),
 * normalize. No I/O besides reading files through `ComposeFs`. See libs/compose/README.md.
 */
export type * from './model.js';
export { loadProject, type LoadProjectOptions } from './load-project.js';
export { type ComposeFs, nodeFs } from './compose-fs.js';
export { serviceConfigHash } from './config-hash.js';
export { renderProjectYaml, renderProjectJson, printableProject, type RenderOptions } from './render.js';
export { toYaml as toYamlDocument } from './yaml-emitter.js';
export { normalizeProjectName, isValidProjectName, projectNameRule } from './project-name.js';
export { defaultFileNames } from './project-files.js';
export { substitute, type SubstituteOptions } from './template.js';
export { parseDotenv, type DotenvOptions } from './dotenv.js';
export { formatDuration, parseDuration, parseBytes } from './units.js';
export { dependencyOrder, imageName } from './project-queries.js';
export type { SourceLocation } from './compose-error.js';
