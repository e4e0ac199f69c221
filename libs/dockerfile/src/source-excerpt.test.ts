import { describe, expect, it } from 'vitest';
import { parseDockerfile } from './instructions.js';
import type { DockerfileError } from './dockerfile-error.js';
import { sourceExcerpt } from './source-excerpt.js';

describe('sourceExcerpt', () => {
  it('frames an error line as BuildKit clients print it', () => {
    const text = 'FROM busybox\nRUN true\nFORM x\nRUN a\n';
    let error: DockerfileError | undefined;
    try {
      parseDockerfile(text);
    } catch (err) {
      error = err as DockerfileError;
    }
    expect(error!.message).toBe('dockerfile parse error on line 3: unknown instruction: FORM (did you mean FROM?)');
    expect(sourceExcerpt(text, error!)).toBe(
      [
        'Dockerfile:3',
        '--------------------',
        '   1 |     FROM busybox',
        '   2 |     RUN true',
        '   3 | >>> FORM x',
        '   4 |     RUN a',
        '   5 |     ',
        '--------------------',
      ].join('\n'),
    );
  });

  it('marks every line of a multi-line instruction, with two lines of context', () => {
    const text = ['FROM a', 'RUN 1', 'RUN 2', 'COPY <<EOF', 'x', 'EOF', 'RUN 3', 'RUN 4', 'RUN 5'].join('\n');
    expect(sourceExcerpt(text, { file: 'app.Dockerfile', line: 4, endLine: 6 })).toBe(
      [
        'app.Dockerfile:4',
        '--------------------',
        '   3 |     RUN 2',
        '   4 | >>> COPY <<EOF',
        '   5 | >>> x',
        '   6 | >>> EOF',
        '   7 |     RUN 3',
        '--------------------',
      ].join('\n'),
    );
  });

  it('cuts long lines and ignores lines outside the text', () => {
    const text = `FROM a\nRUN ${'x'.repeat(500)}`;
    expect(sourceExcerpt(text, { file: 'Dockerfile', line: 2 }, { width: 10 })).toBe(
      ['Dockerfile:2', '--------------------', '   1 |     FROM a', '   2 | >>> RUN xxxxxx…', '--------------------'].join('\n'),
    );
    expect(sourceExcerpt(text, { file: 'Dockerfile', line: 9 })).toBe('');
  });
});
