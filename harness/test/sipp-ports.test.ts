// SIPp media/control ports past the 33rd instance of a point: SIPp's defaults up to N=32, then
// 5 ports in a row found free, never one in use. Binds UDP sockets on 127.0.0.1 in 40000-40099.
import { createSocket, type Socket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { SIPP_DEFAULT_INSTANCES, SippPortPicker } from '../testbed/load/sipp-ports.js';

const bindAt = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve(s));
  });

describe('SippPortPicker', () => {
  it("leaves the first 33 instances to SIPp's defaults (every member and the caller up to N=32)", async () => {
    const p = new SippPortPicker();
    expect(SIPP_DEFAULT_INSTANCES).toBe(33);
    expect(await p.forInstance(0)).toEqual({});
    expect(await p.forInstance(32)).toEqual({});
  });

  it('gives later instances distinct free slots and skips a slot with a port in use', async () => {
    const squat = await bindAt(40_007); // in the second slot, 40005-40009
    try {
      const p = new SippPortPicker();
      const a = await p.forInstance(33);
      const b = await p.forInstance(34);
      expect(a).toEqual({ mediaPort: 40_000, controlPort: 40_004 });
      expect(b).toEqual({ mediaPort: 40_010, controlPort: 40_014 });
    } finally {
      squat.close();
    }
  });
});
