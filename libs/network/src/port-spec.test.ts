import { describe, expect, it } from 'vitest';
import { displayPorts, parseExpose, parsePublish, parsePublishList } from './port-spec.js';

describe('parsePublish', () => {
  it('parses the forms docker run -p accepts', () => {
    expect(parsePublish('8080:80')).toEqual([['80/tcp', { HostIp: '', HostPort: '8080' }]]);
    expect(parsePublish('127.0.0.1:8080:80')).toEqual([['80/tcp', { HostIp: '127.0.0.1', HostPort: '8080' }]]);
    expect(parsePublish('127.0.0.1::80')).toEqual([['80/tcp', { HostIp: '127.0.0.1', HostPort: '' }]]);
    expect(parsePublish('80')).toEqual([['80/tcp', { HostIp: '', HostPort: '' }]]);
    expect(parsePublish('53:53/udp')).toEqual([['53/udp', { HostIp: '', HostPort: '53' }]]);
    expect(parsePublish('8000-8001:9000-9001')).toEqual([
      ['9000/tcp', { HostIp: '', HostPort: '8000' }],
      ['9001/tcp', { HostIp: '', HostPort: '8001' }],
    ]);
    expect(parsePublish('8000-8010:80')).toEqual([['80/tcp', { HostIp: '', HostPort: '8000-8010' }]]);
  });

  it('refuses malformed specs with docker\'s words', () => {
    expect(() => parsePublish('abc')).toThrow('Invalid containerPort: abc');
    expect(() => parsePublish('x:80')).toThrow('Invalid hostPort: x');
    expect(() => parsePublish('1.2.3:80:80')).toThrow('Invalid ip address: 1.2.3');
    expect(() => parsePublish('80/icmp')).toThrow('Invalid proto: icmp');
    expect(() => parsePublish('8000-8002:80-81')).toThrow('Invalid ranges specified for container and host Ports: 80-81 and 8000-8002');
    expect(() => parsePublish('70000')).toThrow('Invalid containerPort: 70000');
  });

  it('merges several -p values', () => {
    expect(parsePublishList(['8080:80', '127.0.0.1:8081:80'])).toEqual({
      '80/tcp': [
        { HostIp: '', HostPort: '8080' },
        { HostIp: '127.0.0.1', HostPort: '8081' },
      ],
    });
    expect(parseExpose('7000-7001/udp')).toEqual(['7000/udp', '7001/udp']);
  });
});

describe('displayPorts', () => {
  it('prints docker\'s PORTS column', () => {
    expect(displayPorts([])).toBe('');
    expect(
      displayPorts([
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { PrivatePort: 443, Type: 'tcp' },
        { IP: '127.0.0.1', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
      ]),
    ).toBe('0.0.0.0:8080->80/tcp, 443/tcp, 127.0.0.1:5353->53/udp');
    expect(
      displayPorts([8000, 8001, 8002].map((p) => ({ IP: '0.0.0.0', PrivatePort: p, PublicPort: p, Type: 'tcp' }))),
    ).toBe('0.0.0.0:8000-8002->8000-8002/tcp');
  });
});
