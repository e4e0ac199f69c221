import { describe, expect, it } from 'vitest';
import { createdState, humanDuration, statusOf, statusText } from './state.js';

describe('humanDuration (Docker units.HumanDuration)', () => {
  it.each([
    [500, 'Less than a second'],
    [1000, '1 second'],
    [5000, '5 seconds'],
    [61_000, 'About a minute'],
    [5 * 60_000, '5 minutes'],
    [3_600_000, 'About an hour'],
    [5 * 3_600_000, '5 hours'],
    [3 * 86_400_000, '3 days'],
    [21 * 86_400_000, '3 weeks'],
    [90 * 86_400_000, '3 months'],
    [3 * 365 * 86_400_000, '3 years'],
  ])('%d ms → %s', (ms, text) => expect(humanDuration(ms)).toBe(text));
});

describe('statusText and statusOf', () => {
  const now = Date.parse('2026-01-01T00:01:00Z');

  it('describes every state like docker ps', () => {
    const created = createdState();
    expect(statusOf(created)).toBe('created');
    expect(statusText(created, now)).toBe('Created');

    const running = { ...created, Running: true, StartedAt: '2026-01-01T00:00:55Z' };
    expect(statusOf(running)).toBe('running');
    expect(statusText(running, now)).toBe('Up 5 seconds');

    const paused = { ...running, Paused: true };
    expect(statusOf(paused)).toBe('paused');
    expect(statusText(paused, now)).toBe('Up 5 seconds (Paused)');

    const restarting = { ...running, Restarting: true, ExitCode: 1, FinishedAt: '2026-01-01T00:00:58Z' };
    expect(statusOf(restarting)).toBe('restarting');
    expect(statusText(restarting, now)).toBe('Restarting (1) 2 seconds ago');

    const exited = { ...running, Running: false, ExitCode: 3, FinishedAt: '2026-01-01T00:00:57Z' };
    expect(statusOf(exited)).toBe('exited');
    expect(statusText(exited, now)).toBe('Exited (3) 3 seconds ago');
  });
});
