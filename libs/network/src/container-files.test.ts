import { describe, expect, it } from 'vitest';
import { hostModeHostsFile, hostsFile, parseExtraHost, resolvConf } from './container-files.js';

describe('hostsFile', () => {
  it('lists loopback names, extra hosts, then the container address with its names', () => {
    const text = hostsFile({ hostname: 'abc123', ip: '172.18.0.2', extraHosts: [['db.local', '10.0.0.5']], names: ['web'] });
    expect(text.split('\n').slice(-3)).toEqual(['10.0.0.5\tdb.local', '172.18.0.2\tabc123 web', '']);
    expect(hostsFile({ hostname: 'h', domainname: 'example.com' })).toContain('127.0.1.1\th.example.com h\n');
  });

  it('parses --add-host', () => {
    expect(parseExtraHost('db:10.0.0.5')).toEqual(['db', '10.0.0.5']);
    expect(parseExtraHost('gw=host-gateway', '172.31.0.1')).toEqual(['gw', '172.31.0.1']);
    expect(() => parseExtraHost('nohost')).toThrow('invalid argument "nohost" for "--add-host" flag: bad format for add-host: "nohost"');
    expect(() => parseExtraHost('db:banana')).toThrow('invalid IP address in add-host: "banana"');
  });
});

describe('hostModeHostsFile', () => {
  it("appends the --add-host entries to the host's own file", () => {
    expect(hostModeHostsFile('127.0.0.1\tlocalhost', [['db', '10.0.0.5']])).toBe('127.0.0.1\tlocalhost\n10.0.0.5\tdb\n');
    expect(hostModeHostsFile('', [])).toBe('');
  });
});

describe('resolvConf', () => {
  const host = 'nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\noptions edns0\n';

  it('keeps the host\'s reachable nameservers, search and options', () => {
    expect(resolvConf(host, {})).toBe('nameserver 10.0.0.2\nsearch corp.example\noptions edns0\n');
    expect(resolvConf('nameserver 127.0.0.53\n', {})).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  });

  it('applies --dns, --dns-search and --dns-option', () => {
    expect(resolvConf(host, { dns: ['1.1.1.1'], dnsSearch: ['a.example'], dnsOptions: ['ndots:2'] })).toBe(
      'nameserver 1.1.1.1\nsearch a.example\noptions ndots:2\n',
    );
  });

  it('points user-defined networks at the embedded server', () => {
    expect(resolvConf(host, { embeddedDns: '172.18.0.1', dns: ['1.1.1.1'] })).toBe(
      'nameserver 172.18.0.1\nsearch corp.example\noptions edns0 ndots:0\n',
    );
  });
});
