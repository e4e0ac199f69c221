import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { chooseRegistryPort, freeLoopbackPort, isLoopbackPortFree } from './loopback-ports.js';

describe('chooseRegistryPort', () => {
  it('takes 5000 when it is free', async () => {
    const asked: number[] = [];
    expect(await chooseRegistryPort({ isFree: async (port) => (asked.push(port), true) })).toBe(5000);
    expect(asked).toEqual([5000]);
  });

  it('takes the next free port when 5000 (and the ones after it) are taken', async () => {
    const taken = new Set([5000, 5001, 5002]);
    const asked: number[] = [];
    expect(await chooseRegistryPort({ isFree: async (port) => (asked.push(port), !taken.has(port)) })).toBe(5003);
    expect(asked).toEqual([5000, 5001, 5002, 5003]);
  });

  it('lets the OS pick when 5000 to 5100 are all taken', async () => {
    const port = await chooseRegistryPort({ isFree: async () => false });
    expect(port === 0 || (port >= 5000 && port <= 5100)).toBe(false);
    expect(await isLoopbackPortFree(port)).toBe(true);
  });
});

describe('isLoopbackPortFree', () => {
  it('is false while something listens on the port and true once it stops', async () => {
    const port = await freeLoopbackPort();
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(await isLoopbackPortFree(port)).toBe(false);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await isLoopbackPortFree(port)).toBe(true);
  });
});

describe('freeLoopbackPort', () => {
  it('never hands out one port twice in a process, though the OS picks each anew', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 300; i++) ports.push(await freeLoopbackPort());
    expect(new Set(ports).size).toBe(300);
  });
});
