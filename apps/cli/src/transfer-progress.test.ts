import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressBar, TransferProgressPrinter, type ProgressLine } from './transfer-progress.js';

const line = (id: string, status: string, current = 0, total = 0): ProgressLine => ({ id, status, current, total });

function render(tty: boolean, lines: ProgressLine[]): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const printer = new TransferProgressPrinter(out, tty);
  for (const l of lines) printer.write(l);
  return text;
}

const pull = [
  line('latest', 'Pulling from library/busybox'),
  line('aaaaaaaaaaaa', 'Pulling fs layer', 0, 100),
  line('bbbbbbbbbbbb', 'Already exists'),
  line('aaaaaaaaaaaa', 'Downloading', 50, 100),
  line('aaaaaaaaaaaa', 'Download complete'),
  line('aaaaaaaaaaaa', 'Pull complete'),
  line('', 'Digest: sha256:abc'),
];

describe('TransferProgressPrinter', () => {
  it('prints one line per message without the progress-only ones when not on a terminal', () => {
    expect(render(false, pull)).toBe(
      [
        'latest: Pulling from library/busybox',
        'aaaaaaaaaaaa: Pulling fs layer',
        'bbbbbbbbbbbb: Already exists',
        'aaaaaaaaaaaa: Download complete',
        'aaaaaaaaaaaa: Pull complete',
        'Digest: sha256:abc',
        '',
      ].join('\n'),
    );
  });

  it('rewrites the line of each layer in place on a terminal', () => {
    const text = render(true, pull);
    expect(text.startsWith('latest: Pulling from library/busybox\n')).toBe(true);
    // a new layer opens a line and is written one line up; an update of the first of two layers goes two up
    expect(text).toContain('\n\x1b[1A\r\x1b[2Kaaaaaaaaaaaa: Pulling fs layer\r\x1b[1B');
    expect(text).toContain('\n\x1b[1A\r\x1b[2Kbbbbbbbbbbbb: Already exists\r\x1b[1B');
    expect(text).toContain(`\x1b[2A\r\x1b[2Kaaaaaaaaaaaa: Downloading ${progressBar(50, 100)}\r\x1b[2B`);
    expect(text).toContain('\x1b[2A\r\x1b[2Kaaaaaaaaaaaa: Pull complete\r\x1b[2B');
    expect(text.endsWith('Digest: sha256:abc\n')).toBe(true);
  });
});

describe('progressBar', () => {
  it('draws docker\'s bar with human sizes', () => {
    expect(progressBar(0, 1000, 10)).toBe('[>         ]       0B/1kB');
    expect(progressBar(500, 1000, 10)).toBe('[=====>    ]     500B/1kB');
    expect(progressBar(1000, 1000, 10)).toBe('[==========]      1kB/1kB');
  });
});
