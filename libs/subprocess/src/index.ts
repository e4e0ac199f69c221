export { type CommandResult, runCommand, type RunCommandOptions, signalNumber } from './run-command.js';
