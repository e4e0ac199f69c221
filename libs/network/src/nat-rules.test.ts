import { describe, expect, it } from 'vitest';
import { renderRules } from './nat-rules.js';

describe('renderRules', () => {
  it('renders DNAT, masquerade and isolation for the whole state, chains declared (and so flushed) first', () => {
    const text = renderRules('0a1b2c3d', {
      networks: [
        { bridge: 'berth0', subnet: '172.31.0.0/16', internal: false },
        { bridge: 'br-1', subnet: '10.5.0.0/24', internal: true },
      ],
      ports: [{ proto: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerIp: '172.31.0.2', containerPort: 53 }],
    });
    expect(text.split('\n')).toEqual([
      '*nat',
      ':BERTH-0A1B2C3D - [0:0]',
      ':BERTH-0A1B2C3D-POST - [0:0]',
      '-A BERTH-0A1B2C3D -d 127.0.0.1/32 -m addrtype --src-type LOCAL -p udp -m udp --dport 5353 -j DNAT --to-destination 172.31.0.2:53',
      '-A BERTH-0A1B2C3D-POST -s 172.31.0.2/32 -d 172.31.0.2/32 -p udp -m udp --dport 53 -j MASQUERADE',
      '-A BERTH-0A1B2C3D-POST -s 172.31.0.0/16 ! -o berth0 -j MASQUERADE',
      '-A BERTH-0A1B2C3D-POST -s 127.0.0.0/8 -o berth0 -j MASQUERADE',
      '-A BERTH-0A1B2C3D-POST -s 127.0.0.0/8 -o br-1 -j MASQUERADE',
      'COMMIT',
      '*filter',
      ':BERTH-0A1B2C3D-FWD - [0:0]',
      '-A BERTH-0A1B2C3D-FWD -i berth0 -o br-1 -j DROP',
      '-A BERTH-0A1B2C3D-FWD -i br-1 -o berth0 -j DROP',
      '-A BERTH-0A1B2C3D-FWD -i br-1 ! -o br-1 -j DROP',
      '-A BERTH-0A1B2C3D-FWD -o br-1 ! -i br-1 -j DROP',
      '-A BERTH-0A1B2C3D-FWD -o berth0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A BERTH-0A1B2C3D-FWD -i berth0 -j ACCEPT',
      '-A BERTH-0A1B2C3D-FWD -o br-1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A BERTH-0A1B2C3D-FWD -i br-1 -j ACCEPT',
      '-A BERTH-0A1B2C3D-FWD -d 172.31.0.2/32 -o berth0 -p udp -m udp --dport 53 -j ACCEPT',
      'COMMIT',
      '',
    ]);
  });
});
