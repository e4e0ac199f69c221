import { InvalidArgumentError } from '@berth/errors';
import { describe, expect, it } from 'vitest';
import { exposedPorts } from './exposed-ports.js';

describe('exposedPorts', () => {
  it('reads ports, ranges and protocols as Docker does', () => {
    expect(exposedPorts(['80'])).toEqual(['80/tcp']);
    expect(exposedPorts(['8080-8081'])).toEqual(['8080/tcp', '8081/tcp']);
    expect(exposedPorts(['53/UDP', '9/sctp', '7-7/udp'])).toEqual(['53/udp', '9/sctp', '7/udp']);
    expect(exposedPorts(['080', '80', '0'])).toEqual(['80/tcp', '0/tcp']);
    expect(exposedPorts(['127.0.0.1:8000:80', '[::1]:1:81/udp', '5:82'])).toEqual(['80/tcp', '81/udp', '82/tcp']);
    expect(exposedPorts(['65534-65535'])).toEqual(['65534/tcp', '65535/tcp']);
  });

  const refused: Array<[string, string]> = [
    ['80a', 'invalid containerPort: 80a'],
    ['65536', 'invalid containerPort: 65536'],
    ['-1', 'invalid containerPort: -1'],
    ['90-80', 'invalid containerPort: 90-80'],
    ['80-', 'invalid containerPort: 80-'],
    ['80/icmp', 'invalid proto: icmp'],
    ['/tcp', 'no port specified: /tcp<empty>'],
    ['', 'no port specified: <empty>'],
    ['nohost:1:80', 'invalid IP address: nohost'],
  ];
  for (const [word, message] of refused) {
    it(`refuses "${word}"`, () => {
      expect(() => exposedPorts([word])).toThrow(InvalidArgumentError);
      expect(() => exposedPorts([word])).toThrow(message);
    });
  }
});
