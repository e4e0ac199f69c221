import { InvalidArgumentError } from '@berth/errors';
import { describe, expect, it } from 'vitest';
import { applyChanges, normalizeFilters } from './index.js';

describe('applyChanges', () => {
  it('applies JSON and shell forms of CMD and ENTRYPOINT', () => {
    expect(applyChanges({}, ['CMD ["sh", "-c", "echo hi"]'])).toEqual({ Cmd: ['sh', '-c', 'echo hi'] });
    expect(applyChanges({}, ['cmd echo $HOME hi'])).toEqual({ Cmd: ['/bin/sh', '-c', 'echo $HOME hi'] });
    expect(applyChanges({ Shell: ['/bin/bash', '-o', 'pipefail', '-c'] }, ['CMD ls | wc']).Cmd).toEqual([
      '/bin/bash', '-o', 'pipefail', '-c', 'ls | wc',
    ]);
    // Not valid JSON: shell form, like Docker.
    expect(applyChanges({}, ['CMD [not json]']).Cmd).toEqual(['/bin/sh', '-c', '[not json]']);
  });

  it('clears an inherited CMD when ENTRYPOINT changes, unless CMD is set too', () => {
    const base = { Cmd: ['sh'], Entrypoint: null };
    expect(applyChanges(base, ['ENTRYPOINT ["/app"]'])).toEqual({ Cmd: null, Entrypoint: ['/app'] });
    expect(applyChanges(base, ['CMD ["--help"]', 'ENTRYPOINT ["/app"]'])).toEqual({ Cmd: ['--help'], Entrypoint: ['/app'] });
    expect(base.Cmd).toEqual(['sh']); // the input is not modified
  });

  it('sets ENV with quotes, expansion, replacement and the legacy form', () => {
    const config = applyChanges({ Env: ['PATH=/bin', 'A=old'] }, [
      'ENV A=new B="two words" C=\'$literal\' D=${A}-x',
      'ENV PATH=/opt/bin:$PATH',
      'ENV LEGACY some value here',
    ]);
    // As in a Dockerfile, one ENV line expands with the values from before that line: D sees the old A.
    expect(config.Env).toEqual(['PATH=/opt/bin:/bin', 'A=new', 'B=two words', 'C=$literal', 'D=old-x', 'LEGACY=some value here']);
  });

  it('sets LABEL, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL and ONBUILD', () => {
    const config = applyChanges({ WorkingDir: '/srv' }, [
      'LABEL a=1 "b c"="d e"',
      'EXPOSE 80 53/udp 8000-8001/tcp',
      'VOLUME ["/data", "/logs"]',
      'VOLUME /cache',
      'USER app:app',
      'WORKDIR web',
      'STOPSIGNAL SIGQUIT',
      'ONBUILD RUN make',
    ]);
    expect(config).toEqual({
      Labels: { a: '1', 'b c': 'd e' },
      ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} },
      Volumes: { '/data': {}, '/logs': {}, '/cache': {} },
      User: 'app:app',
      WorkingDir: '/srv/web',
      StopSignal: 'SIGQUIT',
      OnBuild: ['RUN make'],
    });
  });

  it('refuses what Docker refuses, with its wording', () => {
    const fails = (change: string, message: string) => {
      expect(() => applyChanges({}, [change])).toThrow(new InvalidArgumentError(message));
    };
    fails('RUN echo hi', 'run is not a valid change command');
    fails('FROM busybox', 'from is not a valid change command');
    fails('EXPOSE http', 'invalid containerPort: http');
    fails('ENV novalue', 'ENV must have two arguments');
    fails('ENV a=1 b', 'Syntax error - can\'t find = in "b". Must be of the form: name=value');
    fails('USER', 'USER requires at least one argument');
    fails('ONBUILD ONBUILD RUN x', "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    fails('STOPSIGNAL not a signal', 'Invalid signal: not a signal');
  });
});

describe('list filter helpers', () => {
  it('reject unknown filters with Docker wording', () => {
    expect(() => normalizeFilters({ colour: ['red'] })).toThrow("invalid filter 'colour'");
    expect(() => normalizeFilters([{ key: 'dangling', value: 'maybe' }]).boolOrDefault('dangling', false)).toThrow("invalid filter 'dangling=[maybe]'");
    expect(normalizeFilters([{ key: 'label', value: 'a' }, { key: 'label', value: 'b=c' }]).get('label')).toEqual(['a', 'b=c']);
  });
});
