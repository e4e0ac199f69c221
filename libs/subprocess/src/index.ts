export { type CommandResult, programPath, runCommand, type RunCommandOptions, signalNumber } from './run-command.js';
export { mountCall, mountHelper, NoMountHelper, type HelperAnswer, type MountCall } from './mount-helper.js';
export { HelperGone, ResidentHelper } from './resident-helper.js';
