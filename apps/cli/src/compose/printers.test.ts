import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import { LogPrinter } from './log-printer.js';
import { ProgressPrinter, serviceBuildLine } from './progress-printer.js';

function sink(isTTY = false) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean };
  stream.isTTY = isTTY;
  let text = '';
  stream.on('data', (d) => (text += d));
  return { stream, text: () => text };
}

describe('compose output', () => {
  it('prints plain progress lines without a terminal, as compose v2 does', () => {
    const out = sink();
    const p = new ProgressPrinter(out.stream);
    p.event({ kind: 'Container', name: 'p-web-1', status: 'Starting', done: false });
    p.event({ kind: 'Container', name: 'p-web-1', status: 'Started', done: true });
    p.event({ kind: 'Network', name: 'p_default', status: 'Error', done: true, error: true, detail: 'no pool' });
    expect(out.text()).toBe(' Container p-web-1  Starting\n Container p-web-1  Started\n Network p_default  Error no pool\n');
  });

  it('prefixes log lines with the padded container name, keeping partial lines until they end', () => {
    const out = sink();
    const printer = new LogPrinter(out.stream, out.stream, { color: false, prefix: true });
    printer.add('web-1');
    printer.add('db-10');
    printer.write('web-1', 'hel');
    printer.write('db-10', 'ready\n');
    printer.write('web-1', 'lo\nworld');
    printer.flush('web-1');
    expect(out.text()).toBe('db-10  | ready\nweb-1  | hello\nweb-1  | world\n');
  });

  it('names the service in build steps', () => {
    expect(serviceBuildLine('web', '#5 [2/3] RUN make')).toBe('#5 [web 2/3] RUN make');
    expect(serviceBuildLine('web', '#5 0.51 output')).toBe('#5 0.51 output');
  });

  it('lets a subcommand short flag win over the global one (logs -f is --follow)', async () => {
    const out = sink();
    const err = sink();
    const code = await runCli(['compose', 'logs', '--help'], { stdout: out.stream, stderr: err.stream, stdin: new PassThrough(), env: {} });
    expect(code).toBe(0);
    expect(out.text()).toMatch(/-f, --follow/);
    expect(out.text()).toMatch(/ {6}--file/);
  });
});
