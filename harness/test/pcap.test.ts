// The pcap reader on synthetic files, one per link type and header variant. A real tcpdump file is
// read in capture.test.ts.
import { describe, expect, it } from 'vitest';
import { LINKTYPE, PcapFormatError, readPcap } from '../measure/pcap.js';

interface Rec {
  sec: number;
  frac: number; // µs or ns, per the file
  frame: Buffer;
  origLen?: number;
}

function pcapFile(linkType: number, recs: Rec[], opts: { bigEndian?: boolean; nano?: boolean } = {}): Buffer {
  const le = !opts.bigEndian;
  const w32 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const w16 = (b: Buffer, v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const g = Buffer.alloc(24);
  w32(g, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(g, 2, 4);
  w16(g, 4, 6);
  w32(g, 262144, 16);
  w32(g, linkType, 20);
  const parts: Buffer[] = [g];
  for (const r of recs) {
    const h = Buffer.alloc(16);
    w32(h, r.sec, 0);
    w32(h, r.frac, 4);
    w32(h, r.frame.length, 8);
    w32(h, r.origLen ?? r.frame.length, 12);
    parts.push(h, r.frame);
  }
  return Buffer.concat(parts);
}

function ipv4Udp(src: string, dst: string, sport: number, dport: number, payload: Buffer, fragment?: 'first' | 'later', proto = 17): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip.writeUInt16BE(fragment === 'first' ? 0x2000 : fragment === 'later' ? 0x0010 : 0x4000, 6);
  ip[8] = 64;
  ip[9] = proto;
  src.split('.').forEach((o, i) => (ip[12 + i] = Number(o)));
  dst.split('.').forEach((o, i) => (ip[16 + i] = Number(o)));
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([ip, udp, payload]);
}

const PAYLOAD = Buffer.from('INVITE sip:g8@127.0.0.1 SIP/2.0\r\nCall-ID: abc\r\nCSeq: 1 INVITE\r\n\r\n');
const IP = ipv4Udp('127.0.0.1', '127.0.0.2', 16001, 16002, PAYLOAD);

const eth = (type: number, body: Buffer) => {
  const h = Buffer.alloc(14);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, body]);
};
const nullHdr = (family: number, bigEndian: boolean) => {
  const h = Buffer.alloc(4);
  if (bigEndian) h.writeUInt32BE(family);
  else h.writeUInt32LE(family);
  return h;
};
const sll = (proto: number, body: Buffer) => {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(proto, 14);
  return Buffer.concat([h, body]);
};
const sll2 = (proto: number, body: Buffer) => {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(proto, 0);
  return Buffer.concat([h, body]);
};

function expectOnePacket(buf: Buffer) {
  const { packets, stats } = readPcap(buf);
  expect(stats.truncatedTail).toBe(false);
  expect(packets).toHaveLength(1);
  const p = packets[0];
  expect(p).toMatchObject({ srcIp: '127.0.0.1', dstIp: '127.0.0.2', srcPort: 16001, dstPort: 16002 });
  expect(p.payload.equals(PAYLOAD)).toBe(true);
  return { p, stats };
}

describe('pcap reader', () => {
  const rec = (frame: Buffer): Rec => ({ sec: 1_700_000_000, frac: 123_456, frame });

  it('reads Ethernet (DLT_EN10MB) with microsecond timestamps', () => {
    const { p, stats } = expectOnePacket(pcapFile(LINKTYPE.EN10MB, [rec(eth(0x0800, IP))]));
    expect(p.tsUs).toBe(1_700_000_000_123_456);
    expect(stats).toMatchObject({ linkType: 1, nanosecond: false, records: 1, udp: 1 });
  });

  it('reads Ethernet with a VLAN tag', () => {
    const tag = Buffer.from([0x00, 0x05, 0x08, 0x00]); // TCI, then the inner ethertype
    const h = Buffer.alloc(12);
    expectOnePacket(pcapFile(LINKTYPE.EN10MB, [rec(Buffer.concat([h, Buffer.from([0x81, 0x00]), tag, IP]))]));
  });

  it('reads big-endian files and nanosecond files', () => {
    const be = expectOnePacket(pcapFile(LINKTYPE.EN10MB, [rec(eth(0x0800, IP))], { bigEndian: true }));
    expect(be.p.tsUs).toBe(1_700_000_000_123_456);
    const ns = expectOnePacket(pcapFile(LINKTYPE.EN10MB, [{ sec: 1_700_000_000, frac: 123_456_789, frame: eth(0x0800, IP) }], { nano: true }));
    expect(ns.p.tsUs).toBe(1_700_000_000_123_456);
    expect(ns.stats.nanosecond).toBe(true);
    const both = expectOnePacket(pcapFile(LINKTYPE.EN10MB, [{ sec: 1_700_000_000, frac: 999_999_999, frame: eth(0x0800, IP) }], { nano: true, bigEndian: true }));
    expect(both.p.tsUs).toBe(1_700_000_000_999_999);
  });

  it('reads DLT_NULL in either byte order and DLT_LOOP', () => {
    expectOnePacket(pcapFile(LINKTYPE.NULL, [rec(Buffer.concat([nullHdr(2, false), IP]))]));
    expectOnePacket(pcapFile(LINKTYPE.NULL, [rec(Buffer.concat([nullHdr(2, true), IP]))]));
    expectOnePacket(pcapFile(LINKTYPE.LOOP, [rec(Buffer.concat([nullHdr(2, true), IP]))]));
    // AF_INET6 on BSD is 24/28/30: skipped
    expect(readPcap(pcapFile(LINKTYPE.LOOP, [rec(Buffer.concat([nullHdr(24, true), IP]))])).stats.skipped).toBe(1);
  });

  it('reads LINUX_SLL, LINUX_SLL2 and RAW', () => {
    expectOnePacket(pcapFile(LINKTYPE.LINUX_SLL, [rec(sll(0x0800, IP))]));
    expectOnePacket(pcapFile(LINKTYPE.LINUX_SLL2, [rec(sll2(0x0800, IP))]));
    expectOnePacket(pcapFile(LINKTYPE.RAW, [rec(IP)]));
  });

  it('skips non-UDP and non-IPv4 packets and counts IPv4 fragments', () => {
    const tcp = ipv4Udp('127.0.0.1', '127.0.0.2', 1, 2, PAYLOAD, undefined, 6);
    const frag1 = ipv4Udp('127.0.0.1', '127.0.0.2', 1, 2, PAYLOAD, 'first');
    const frag2 = ipv4Udp('127.0.0.1', '127.0.0.2', 1, 2, PAYLOAD, 'later');
    const ipv6 = eth(0x86dd, Buffer.alloc(60));
    const { packets, stats } = readPcap(
      pcapFile(LINKTYPE.EN10MB, [rec(eth(0x0800, tcp)), rec(eth(0x0800, frag1)), rec(eth(0x0800, frag2)), rec(ipv6), rec(eth(0x0800, IP))]),
    );
    expect(packets).toHaveLength(1);
    expect(stats).toMatchObject({ records: 5, udp: 1, fragments: 2, skipped: 2 });
  });

  it('ignores Ethernet padding after the UDP datagram', () => {
    const padded = eth(0x0800, Buffer.concat([IP, Buffer.alloc(10, 0xee)]));
    expectOnePacket(pcapFile(LINKTYPE.EN10MB, [rec(padded)]));
  });

  it('tolerates a truncated last record (tcpdump killed mid-write)', () => {
    const full = pcapFile(LINKTYPE.EN10MB, [rec(eth(0x0800, IP)), rec(eth(0x0800, IP))]);
    const firstEnd = 24 + 16 + 14 + IP.length; // global header + first record
    for (const cut of [5, 16 + 10]) {
      // cut inside the second record's header, then inside its data
      const { packets, stats } = readPcap(full.subarray(0, firstEnd + cut));
      expect(packets).toHaveLength(1);
      expect(stats.truncatedTail).toBe(true);
    }
    // a header-only file (nothing captured yet) is valid and empty
    const empty = readPcap(full.subarray(0, 24));
    expect(empty.packets).toHaveLength(0);
    expect(empty.stats.truncatedTail).toBe(false);
  });

  it('rejects pcapng, unknown magic and unsupported link types with a clear error', () => {
    const ng = Buffer.alloc(28);
    ng.writeUInt32LE(0x0a0d0d0a, 0);
    expect(() => readPcap(ng)).toThrow(/pcapng/);
    expect(() => readPcap(Buffer.alloc(24))).toThrow(PcapFormatError);
    expect(() => readPcap(pcapFile(147, [rec(IP)]))).toThrow(/link type 147/);
    expect(() => readPcap(Buffer.alloc(3))).toThrow(/too short/);
  });
});
