import { describe, expect, it } from 'vitest';
import { allocateAddress, planIpam } from './ipam.js';
import { formatIp, parseCidr, parseIp } from './ipv4.js';

describe('planIpam', () => {
  it('takes the first pool subnet that overlaps nothing in use, gateway .1', () => {
    const inUse = [parseCidr('172.18.0.0/16'), parseCidr('172.19.5.0/24')];
    expect(planIpam({}, { inUse })).toEqual({ Subnet: '172.20.0.0/16', Gateway: '172.20.0.1' });
  });

  it('validates a requested subnet, gateway and range', () => {
    expect(planIpam({ subnet: '10.9.0.0/24', gateway: '10.9.0.254', ipRange: '10.9.0.128/25' }, { inUse: [] })).toEqual({
      Subnet: '10.9.0.0/24',
      Gateway: '10.9.0.254',
      IPRange: '10.9.0.128/25',
    });
    expect(() => planIpam({ subnet: '10.9.0.1/24' }, { inUse: [] })).toThrow('invalid subnet "10.9.0.1/24": it should be "10.9.0.0/24"');
    expect(() => planIpam({ subnet: '10.9.0.0/24', gateway: '10.8.0.1' }, { inUse: [] })).toThrow(
      'invalid gateway "10.8.0.1": not a host address of subnet "10.9.0.0/24"',
    );
    expect(() => planIpam({ subnet: '10.9.0.0/24', ipRange: '10.9.1.0/25' }, { inUse: [] })).toThrow(
      'invalid ip-range "10.9.1.0/25": not inside subnet "10.9.0.0/24"',
    );
    expect(() => planIpam({ gateway: '10.9.0.1' }, { inUse: [] })).toThrow('every ip-range or gateway must have a corresponding subnet');
    expect(() => planIpam({ subnet: '10.9.0.0/24' }, { inUse: [parseCidr('10.0.0.0/8')] })).toThrow(
      'Pool overlaps with other one on this address space: "10.9.0.0/24" is in use',
    );
  });

  it('says so when the pool is exhausted', () => {
    expect(() => planIpam({}, { inUse: [parseCidr('0.0.0.0/0')], pool: ['10.1.0.0/16'] })).toThrow(/could not find an available/);
  });
});

describe('allocateAddress', () => {
  const config = { Subnet: '10.9.0.0/29', Gateway: '10.9.0.1' };

  it('hands out the lowest free host address, skipping network, gateway and broadcast', () => {
    expect(allocateAddress(config, new Set())).toBe('10.9.0.2');
    expect(allocateAddress(config, new Set(['10.9.0.2', '10.9.0.3']))).toBe('10.9.0.4');
    const all = new Set(['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
    expect(() => allocateAddress(config, all)).toThrow('No available addresses on network with subnet "10.9.0.0/29"');
  });

  it('honours the ip range and a requested address', () => {
    expect(allocateAddress({ ...config, IPRange: '10.9.0.4/30' }, new Set())).toBe('10.9.0.4');
    expect(allocateAddress(config, new Set(), '10.9.0.6')).toBe('10.9.0.6');
    expect(() => allocateAddress(config, new Set(['10.9.0.6']), '10.9.0.6')).toThrow('Address already in use: "10.9.0.6"');
    expect(() => allocateAddress(config, new Set(), '10.9.0.7')).toThrow(
      "Invalid address 10.9.0.7: it does not belong to any of this network's subnets",
    );
  });
});

describe('ipv4', () => {
  it('round-trips addresses', () => {
    expect(formatIp(parseIp('192.168.255.1'))).toBe('192.168.255.1');
    expect(() => parseIp('300.1.1.1')).toThrow('invalid IPv4 address: "300.1.1.1"');
  });
});
