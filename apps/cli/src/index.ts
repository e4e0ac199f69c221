export { runCli } from './cli.js';
export type { CliIo } from './context.js';
export { renderTemplate, Template, TemplateError, FieldContext } from './template.js';
export { humanDuration, humanSize, humanSizeWithPrecision, bytesSize, ramInBytes } from './units.js';
