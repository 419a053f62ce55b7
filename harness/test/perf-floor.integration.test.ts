// The bare UDP relay of `forkbench perf`, for real: a tiny bounded load on loopback, the counts on
// every side (the relay's and each of its sink processes'), a CPU sample, and no process left
// afterwards. Ports 27700-27799 on 127.0.0.1.
// Run under the shared lock: flock /tmp/forkbench-it.lock npx vitest run harness/test/perf-floor.integration.test.ts
import { describe, expect, it } from 'vitest';
import { runFloorTrial, FloorError } from '../engine/floor-runner.js';
import { supervisor } from '../testbed/processes.js';
import { createSocket } from 'node:dgram';

const BASE = 27700;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('bare UDP relay floor', () => {
  it('takes its input from 17 peer processes, relays every datagram 1.5 times round-robin to them, counts every side, samples its CPU, and leaves no process', async () => {
    const k = 17; // the centralized proxy's peers at N=16: 16 members + the caller
    const r = await runFloorTrial({ shape: { pointId: 'test', inRate: 400, copies: 1.5, peers: k }, ports: { relay: BASE, control: BASE + 1, sinkBase: BASE + 2 }, warmupS: 0.3, windowS: 1 });
    // About 400 datagrams/s over ~1.3 s (warm-up + window), 1/17 from each peer on its own timer.
    expect(r.generated).toBeGreaterThan(300);
    expect(r.generated).toBeLessThanOrEqual(Math.ceil(400 * 2.3));
    for (const s of r.sinks) expect(Math.abs(s.sent - r.generated / k)).toBeLessThanOrEqual(3);
    // Loopback at this rate loses nothing: the relay got all, sent floor(received x 1.5), the sinks got all that.
    expect(r.relayReceived).toBe(r.generated);
    expect(r.relaySent).toBe(Math.floor(r.relayReceived * 1.5));
    // Every sink is its own process on its own port, and round-robin gives each its share (+-1).
    expect(r.sinks.map((s) => s.port)).toEqual(Array.from({ length: k }, (_, i) => BASE + 2 + i));
    expect(new Set(r.sinks.map((s) => s.pid)).size).toBe(k);
    expect(r.sinks.map((s) => s.pid)).not.toContain(r.relayPid);
    expect(r.sinks.reduce((a, s) => a + s.received, 0)).toBe(r.relaySent);
    expect(r.sinkReceived).toBe(r.relaySent);
    for (const s of r.sinks) {
      expect(s.received).toBeGreaterThan(0);
      expect(Math.abs(s.received - r.relaySent / k)).toBeLessThanOrEqual(1);
    }
    // The window: about a second's worth, 1.5 sends each (+-1 for a credit carried across the window's edges).
    expect(r.received).toBeGreaterThan(200);
    expect(r.received).toBeLessThan(r.generated);
    expect(Math.abs(r.sent - r.received * 1.5)).toBeLessThanOrEqual(1);
    expect(r.windowS).toBeGreaterThan(0.9);
    expect(Number.isFinite(r.cpuUs) && r.cpuUs >= 0).toBe(true);
    expect(r.usPerMsg).toBe(r.cpuUs / (r.received + r.sent));
    for (const pid of [r.relayPid, ...r.sinks.map((s) => s.pid)]) expect(alive(pid)).toBe(false);
    expect(supervisor.tracked).toHaveLength(0);
  });

  it('refuses a port in use, also a sink port, before starting anything', async () => {
    const squat = createSocket('udp4');
    await new Promise<void>((resolve) => squat.bind(BASE + 40, '127.0.0.1', resolve));
    try {
      // Sinks at BASE+32 .. BASE+48: the squatted port is the ninth.
      await expect(runFloorTrial({ shape: { pointId: 'test', inRate: 100, copies: 1, peers: 17 }, ports: { relay: BASE + 30, control: BASE + 31, sinkBase: BASE + 32 }, warmupS: 0.1, windowS: 0.2 })).rejects.toThrow(/UDP port 27740 is in use/);
      await expect(runFloorTrial({ shape: { pointId: 'test', inRate: 100, copies: 1, peers: 1 }, ports: { relay: BASE + 40, control: BASE + 41, sinkBase: BASE + 42 }, warmupS: 0.1, windowS: 0.2 })).rejects.toThrow(FloorError);
      expect(supervisor.tracked).toHaveLength(0);
    } finally {
      squat.close();
    }
  });
});
