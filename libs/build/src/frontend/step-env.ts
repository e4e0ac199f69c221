import { expandWordList, expandWords } from '@berth/dockerfile';

/**
 * The one place the builder calls @berth/dockerfile's word expansion (quotes removed, `$VAR`
 * substituted with the step's environment: declared ARGs overlaid by ENV).
 */
export class StepEnv {
  constructor(
    readonly vars: ReadonlyMap<string, string>,
    readonly escape: string,
  ) {}

  /** One word (`ENV A="x y"` → `x y`). */
  word(text: string): string {
    return expandWords(text, this.vars, { escape: this.escape });
  }

  /** A list of words (`EXPOSE $PORTS` → `80`, `443`). */
  words(text: string): string[] {
    return expandWordList(text, this.vars, { escape: this.escape });
  }
}
