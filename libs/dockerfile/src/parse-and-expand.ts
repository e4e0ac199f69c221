import { expandInstruction } from './expand.js';
import { parseDockerfile } from './instructions.js';
import type { Instruction } from './types.js';

/**
 * Parses a Dockerfile and expands every instruction of every stage, carrying ENV along (from one
 * stage to the next too; no build args): the front end's whole work on a text, as the linear-time
 * tests and bench/dockerfile-parse.ts time it. Throws the DockerfileError of the first bad line.
 */
export function parseAndExpand(text: string): Instruction[] {
  const expanded: Instruction[] = [];
  const env = new Map<string, string>();
  for (const stage of parseDockerfile(text).stages) {
    for (const ins of stage.instructions) {
      const { instruction } = expandInstruction(ins, env);
      if (instruction.kind === 'ENV') for (const [k, v] of instruction.pairs) env.set(k, v);
      expanded.push(instruction);
    }
  }
  return expanded;
}
