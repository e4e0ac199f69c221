export * from './types.js';
export { DockerfileError, excerpt, type ErrorLocation } from './dockerfile-error.js';
export { parseDockerfile, parseOnbuildTriggers, instructionNames, type ParseOptions } from './instructions.js';
export { expandWords, expandWordList, expandHeredoc, expandInstruction, type Env, type ExpandOptions } from './expand.js';
export { resolveCommandForm, resolveRunCommand, defaultShell, type RunCommand } from './command-form.js';
export { BuildArgs, ArgScope, predefinedArgs, isProxyArg, automaticPlatformArgs, type Platform } from './build-args.js';
export { parseDockerignore, createIgnoreMatcher, cleanRelativePath, type IgnorePattern, type IgnoreMatcher } from './dockerignore.js';
export { exposedPorts } from './exposed-ports.js';
export { sourceExcerpt } from './source-excerpt.js';
