// Capture integrity (issue 10): tcpdump's buffer sized for the rate, its kernel drops flag a row,
// a truncated capture flags a row (checked on a real capture cut short), and the capture's failed
// calls are cross-checked against SIPp's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureArgs, captureBufferKib, captureFilter, checkCaptureIntegrity, MAX_BUFFER_KIB, MIN_BUFFER_KIB } from '../measure/capture.js';
import { readPcap } from '../measure/pcap.js';

const REAL = readFileSync(join(__dirname, 'fixtures', 'centralized-n4.pcap'));
const TCPDUMP_OK = { captured: 374, receivedByFilter: 748, droppedByKernel: 0 }; // what tcpdump printed for it

describe('tcpdump arguments', () => {
  it('captures every leg asked for, with a buffer sized for the rate', () => {
    expect(captureFilter({ port: 16000 })).toBe('udp and port 16000');
    expect(captureFilter({ port: 16000, ports: [16000, 20000, 20002] })).toBe('udp and (port 16000 or port 20000 or port 20002)');
    expect(captureArgs({ file: '/x.pcap', port: 16000, ports: [20000], bufferKib: 8192 })).toEqual([
      '-i', 'lo', '-B', '8192', '-w', '/x.pcap', '-U', '--immediate-mode', '-s', '4096', 'udp and (port 16000 or port 20000)',
    ]);
  });

  it('-B holds 2 s of the peak packet rate, within 4 MiB..256 MiB', () => {
    expect(captureBufferKib(10, 20)).toBe(MIN_BUFFER_KIB);
    // N=32 centralized, every leg: 7*32+6 = 230 packets per call at 100 calls/s = 23,000 packets/s
    expect(captureBufferKib(100, 230)).toBe(Math.ceil((100 * 230 * (4096 + 128) * 2) / 1024)); // a ring frame per packet: snaplen + headers
    expect(captureBufferKib(200, 230)).toBe(MAX_BUFFER_KIB);
    expect(captureBufferKib(100, 230)).toBeGreaterThan(captureBufferKib(50, 230));
  });
});

describe('checkCaptureIntegrity', () => {
  it('passes a complete capture with no drops and agreeing failure counts', () => {
    const { stats } = readPcap(REAL);
    const r = checkCaptureIntegrity({ tcpdump: TCPDUMP_OK, pcapRecords: stats.records, pcapTruncatedTail: stats.truncatedTail, pcapFailedCalls: 0, sippFailedCalls: 0 });
    expect(r).toEqual({ droppedByKernel: 0, truncated: false, flags: [] });
  });

  it('flags a real capture cut short mid-record (the check fires)', () => {
    const cut = REAL.subarray(0, REAL.length - 100);
    const { stats } = readPcap(cut);
    expect(stats.truncatedTail).toBe(true);
    const r = checkCaptureIntegrity({ tcpdump: TCPDUMP_OK, pcapRecords: stats.records, pcapTruncatedTail: stats.truncatedTail });
    expect(r.truncated).toBe(true);
    expect(r.flags).toEqual(['capture truncated (last record cut short)']);
  });

  it('flags a file holding fewer records than tcpdump said it captured', () => {
    // Cut at a record boundary: the reader cannot tell, tcpdump's own count can.
    const { stats } = readPcap(REAL);
    let off = 24;
    for (let i = 0; i < 300; i++) off += 16 + REAL.readUInt32LE(off + 8);
    const short = readPcap(REAL.subarray(0, off)).stats;
    expect(short.truncatedTail).toBe(false);
    expect(short.records).toBe(300);
    const r = checkCaptureIntegrity({ tcpdump: TCPDUMP_OK, pcapRecords: short.records, pcapTruncatedTail: false });
    expect(r.truncated).toBe(true);
    expect(r.flags).toEqual([`capture truncated (300 records in the file, tcpdump captured ${stats.records})`]);
  });

  it('flags kernel drops with their count', () => {
    const r = checkCaptureIntegrity({ tcpdump: { captured: 504, receivedByFilter: 1012, droppedByKernel: 4 }, pcapRecords: 504, pcapTruncatedTail: false });
    expect(r.droppedByKernel).toBe(4);
    expect(r.flags).toEqual(['capture dropped 4 packets (kernel)']);
  });

  it('flags a disagreement with SIPp with both numbers', () => {
    const r = checkCaptureIntegrity({ tcpdump: TCPDUMP_OK, pcapRecords: 374, pcapTruncatedTail: false, pcapFailedCalls: 3, sippFailedCalls: 1 });
    expect(r.flags).toEqual(['failed calls: capture 3, SIPp 1']);
    expect(checkCaptureIntegrity({ tcpdump: TCPDUMP_OK, pcapRecords: 374, pcapTruncatedTail: false, pcapFailedCalls: 2, sippFailedCalls: 2 }).flags).toEqual([]);
  });
});
