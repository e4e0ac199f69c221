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
  it('reads fields and nested fields', () => {
    expect(renderTemplate('{{.State.Status}}', inspect)).toBe('running');
    expect(renderTemplate('{{.Name}} {{.State.Pid}} {{.State.Running}}', inspect)).toBe('/web 42 true');
  });

  it('prints values as Go %v does', () => {
    expect(renderTemplate('{{.Config.Cmd}}', inspect)).toBe('[sh -c echo hi]');
    expect(renderTemplate('{{.Config.Labels}}', inspect)).toBe('map[com.example:x tier:web]');
    expect(renderTemplate('{{.Config.Entrypoint}}', inspect)).toBe('<nil>');
    expect(renderTemplate('{{.Nope}}', inspect)).toBe('<no value>');
  });

  it('has json, index, join, upper, lower, len, printf and pipes', () => {
    expect(renderTemplate('{{json .Config.Labels}}', inspect)).toBe('{"com.example":"x","tier":"web"}');
    expect(renderTemplate('{{json .Config.Env}}', inspect)).toBe('[]');
    expect(renderTemplate('{{index .Config.Labels "com.example"}}', inspect)).toBe('x');
    expect(renderTemplate('{{join .Config.Cmd ","}}', inspect)).toBe('sh,-c,echo hi');
    expect(renderTemplate('{{.State.Status | upper}} {{lower "AB"}}', inspect)).toBe('RUNNING ab');
    expect(renderTemplate('{{len .Mounts}}', inspect)).toBe('2');
    expect(renderTemplate('{{printf "%s=%d" .Name .State.Pid}}', inspect)).toBe('/web=42');
    expect(renderTemplate('{{(index .Mounts 1).Source}}', inspect)).toBe('/c');
  });

  it('has if/else, range with variables, with, and trim markers', () => {
    expect(renderTemplate('{{if .State.Running}}up{{else}}down{{end}}', inspect)).toBe('up');
    expect(renderTemplate('{{if eq .State.Status "exited"}}x{{else if .State.Running}}y{{end}}', inspect)).toBe('y');
    expect(renderTemplate('{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}', inspect)).toBe('/a:/b /c:/d ');
    expect(renderTemplate('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}', inspect)).toBe('com.example=x;tier=web;');
    expect(renderTemplate('{{range .Config.Env}}x{{else}}none{{end}}', inspect)).toBe('none');
    expect(renderTemplate('{{with .State}}{{.Status}}{{end}}', inspect)).toBe('running');
    expect(renderTemplate('a  {{- .Id -}}  b {{/* note */}}', inspect)).toBe('aabc123b ');
    expect(renderTemplate('{{$.Id}}', inspect)).toBe('abc123');
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
