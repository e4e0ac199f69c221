import { describe, expect, it } from 'vitest';
import { FieldContext, renderTemplate, TemplateError } from './template.js';

const inspect = {
  Id: 'abc123',
  Name: '/web',
  State: { Status: 'running', Running: true, ExitCode: 0, Pid: 42 },
  Config: { Cmd: ['sh', '-c', 'echo hi'], Labels: { 'com.example': 'x', tier: 'web' }, Env: [] as string[], Entrypoint: null },
  Mounts: [{ Source: '/a', Destination: '/b' }, { Source: '/c', Destination: '/d' }],
};

describe('renderTemplate', () => {
  // [template, what it renders of `inspect`], by feature
  const renders: Record<string, Array<[string, string]>> = {
    'reads fields and nested fields': [
      ['{{.State.Status}}', 'running'],
      ['{{.Name}} {{.State.Pid}} {{.State.Running}}', '/web 42 true'],
    ],
    'prints values as Go %v does': [
      ['{{.Config.Cmd}}', '[sh -c echo hi]'],
      ['{{.Config.Labels}}', 'map[com.example:x tier:web]'],
      ['{{.Config.Entrypoint}}', '<nil>'],
      ['{{.Nope}}', '<no value>'],
    ],
    'has json, index, join, upper, lower, len, printf and pipes': [
      ['{{json .Config.Labels}}', '{"com.example":"x","tier":"web"}'],
      ['{{json .Config.Env}}', '[]'],
      ['{{index .Config.Labels "com.example"}}', 'x'],
      ['{{join .Config.Cmd ","}}', 'sh,-c,echo hi'],
      ['{{.State.Status | upper}} {{lower "AB"}}', 'RUNNING ab'],
      ['{{len .Mounts}}', '2'],
      ['{{printf "%s=%d" .Name .State.Pid}}', '/web=42'],
      ['{{(index .Mounts 1).Source}}', '/c'],
    ],
    'has if/else, range with variables, with, and trim markers': [
      ['{{if .State.Running}}up{{else}}down{{end}}', 'up'],
      ['{{if eq .State.Status "exited"}}x{{else if .State.Running}}y{{end}}', 'y'],
      ['{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}', '/a:/b /c:/d '],
      ['{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}', 'com.example=x;tier=web;'],
      ['{{range .Config.Env}}x{{else}}none{{end}}', 'none'],
      ['{{with .State}}{{.Status}}{{end}}', 'running'],
      ['a  {{- .Id -}}  b {{/* note */}}', 'aabc123b '],
      ['{{$.Id}}', 'abc123'],
    ],
  };
  describe.each(Object.entries(renders))('%s', (_feature, cases) => {
    it.each(cases)('%s', (template, output) => {
      expect(renderTemplate(template, inspect)).toBe(output);
    });
  });

  it('calls context fields, with arguments, and rejects unknown fields like docker formatters', () => {
    const row = new FieldContext('*formatter.ContainerContext', { ID: () => 'abc', Label: (k) => (k === 'a' ? '1' : '') });
    expect(renderTemplate('{{.ID}} {{.Label "a"}}', row)).toBe('abc 1');
    expect(renderTemplate('{{json .}}', row)).toBe('{"ID":"abc"}');
    expect(() => renderTemplate('{{.Foo}}', row)).toThrow(
      'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext',
    );
  });

  it('reports parse errors with Go wording', () => {
    expect(() => renderTemplate('{{foo .X}}', {})).toThrow(new TemplateError('template: :1: function "foo" not defined', 'parse'));
    expect(() => renderTemplate('{{if .X}}a', {})).toThrow('unexpected EOF');
    expect(() => renderTemplate('{{.X', {})).toThrow('unclosed action');
  });
});
