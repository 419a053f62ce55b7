// Media and control ports for SIPp instances past the first 33 of a point (N > 32, e.g. perf's N=64).
// SIPp's defaults start every instance's media ports at 6000 (2 ports a try, 100 tries; an instance
// takes 4) and its control port at 8888 (60 tries), so past about 50 instances on one machine SIPp
// exits at start ("Unable to bind audio RTP socket ... 6198"). Given -mp/-cp, SIPp does not step up
// but fails when the port is taken, so those are picked free here, in a range the defaults never reach.
import { portFree } from '../processes.js';

/** Instances 0..32 (every member and the caller up to N=32) keep SIPp's defaults, as before. */
export const SIPP_DEFAULT_INSTANCES = 33;
const FROM = 40_000;
const TO = 50_000;

export class SippPortPicker {
  private next = FROM;

  /** The next 4 media ports and a control port, all free right now on 127.0.0.1. */
  async pick(): Promise<{ mediaPort: number; controlPort: number }> {
    while (this.next + 5 <= TO) {
      const p = this.next;
      this.next += 5;
      const free = await Promise.all([0, 1, 2, 3, 4].map((k) => portFree(p + k, 'udp')));
      if (free.every(Boolean)) return { mediaPort: p, controlPort: p + 4 };
    }
    throw new Error(`no 5 free UDP ports in a row for SIPp's media and control sockets in ${FROM}-${TO}`);
  }

  /** Ports for instance `index`: none (SIPp's defaults) for the first SIPP_DEFAULT_INSTANCES. */
  async forInstance(index: number): Promise<{ mediaPort?: number; controlPort?: number }> {
    return index < SIPP_DEFAULT_INSTANCES ? {} : this.pick();
  }
}
