// A small reader for classic libpcap files (what `tcpdump -w` writes), written by hand so the
// harness needs no native dependency. It yields IPv4 UDP datagrams with microsecond timestamps;
// everything else is counted and skipped. pcapng is not supported (tcpdump -w writes classic pcap).
//
// Timestamps are plain numbers of microseconds since the epoch: ~1.8e15 today, far below 2^53,
// so a double holds them exactly and arithmetic stays simple.

import { readFile } from 'node:fs/promises';

export interface UdpPacket {
  tsUs: number; // capture time, microseconds since the epoch (nanosecond files are truncated to µs)
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer; // a view into the file buffer, not a copy
}

export interface PcapStats {
  linkType: number;
  nanosecond: boolean;
  records: number; // complete records read
  udp: number; // IPv4 UDP packets yielded
  fragments: number; // IPv4 fragments (skipped: SIP over UDP on loopback is normally not fragmented)
  skipped: number; // records that are not IPv4 UDP (other protocols, IPv6, ARP, too short)
  snapped: number; // UDP packets whose payload was cut by the snapshot length
  truncatedTail: boolean; // the last record was cut short (tcpdump killed mid-write)
}

export interface PcapResult {
  packets: UdpPacket[];
  stats: PcapStats;
}

export const LINKTYPE = {
  NULL: 0,
  EN10MB: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  LINUX_SLL2: 276,
} as const;

const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_VLAN = [0x8100, 0x88a8];
const IPPROTO_UDP = 17;

export class PcapFormatError extends Error {}

interface GlobalHeader {
  littleEndian: boolean;
  nanosecond: boolean;
  linkType: number;
}

function readGlobalHeader(buf: Buffer): GlobalHeader {
  if (buf.length < GLOBAL_HEADER_LEN) throw new PcapFormatError(`pcap file too short for a header (${buf.length} bytes)`);
  const magicLe = buf.readUInt32LE(0);
  let littleEndian: boolean;
  let nanosecond: boolean;
  switch (magicLe) {
    case 0xa1b2c3d4: littleEndian = true; nanosecond = false; break;
    case 0xd4c3b2a1: littleEndian = false; nanosecond = false; break;
    case 0xa1b23c4d: littleEndian = true; nanosecond = true; break;
    case 0x4d3cb2a1: littleEndian = false; nanosecond = true; break;
    case 0x0a0d0d0a: throw new PcapFormatError('pcapng files are not supported: capture with tcpdump -w (classic pcap)');
    default: throw new PcapFormatError(`not a pcap file (magic 0x${magicLe.toString(16)})`);
  }
  const raw = littleEndian ? buf.readUInt32LE(20) : buf.readUInt32BE(20);
  // The upper bits of the link-type field carry FCS information; the type is the low 16 bits.
  return { littleEndian, nanosecond, linkType: raw & 0xffff };
}

/** Offset of the IPv4 header inside a frame, or -1 when the frame does not carry IPv4. */
function ipv4Offset(frame: Buffer, linkType: number): number {
  switch (linkType) {
    case LINKTYPE.EN10MB: {
      let off = 12;
      if (frame.length < off + 2) return -1;
      let type = frame.readUInt16BE(off);
      while (ETHERTYPE_VLAN.includes(type)) {
        off += 4;
        if (frame.length < off + 2) return -1;
        type = frame.readUInt16BE(off);
      }
      return type === ETHERTYPE_IPV4 ? off + 2 : -1;
    }
    case LINKTYPE.NULL: {
      // 4-byte address family in the byte order of the capturing host: accept AF_INET (2) either way.
      if (frame.length < 4) return -1;
      return frame.readUInt32LE(0) === 2 || frame.readUInt32BE(0) === 2 ? 4 : -1;
    }
    case LINKTYPE.LOOP:
      if (frame.length < 4) return -1;
      return frame.readUInt32BE(0) === 2 ? 4 : -1;
    case LINKTYPE.LINUX_SLL:
      if (frame.length < 16) return -1;
      return frame.readUInt16BE(14) === ETHERTYPE_IPV4 ? 16 : -1;
    case LINKTYPE.LINUX_SLL2:
      if (frame.length < 20) return -1;
      return frame.readUInt16BE(0) === ETHERTYPE_IPV4 ? 20 : -1;
    case LINKTYPE.RAW:
    case LINKTYPE.IPV4:
      return frame.length >= 1 && frame[0] >> 4 === 4 ? 0 : -1;
    default:
      throw new PcapFormatError(`unsupported pcap link type ${linkType}`);
  }
}

function ipString(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

type Decoded = UdpPacket | 'fragment' | 'skip';

function decodeIpv4Udp(frame: Buffer, ipOff: number, tsUs: number, stats: PcapStats): Decoded {
  if (frame.length < ipOff + 20) return 'skip';
  const vihl = frame[ipOff];
  if (vihl >> 4 !== 4) return 'skip';
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20 || frame.length < ipOff + ihl) return 'skip';
  const flagsFrag = frame.readUInt16BE(ipOff + 6);
  const moreFragments = (flagsFrag & 0x2000) !== 0;
  const fragOffset = flagsFrag & 0x1fff;
  if (moreFragments || fragOffset !== 0) return 'fragment';
  if (frame[ipOff + 9] !== IPPROTO_UDP) return 'skip';
  const totalLen = frame.readUInt16BE(ipOff + 2);
  const udpOff = ipOff + ihl;
  if (frame.length < udpOff + 8) return 'skip';
  const udpLen = frame.readUInt16BE(udpOff + 4);
  // Trust the smallest of the UDP length, the IP length and what was captured (Ethernet padding,
  // snaplen cuts, and IP total length 0 under TSO all occur in the wild).
  let end = udpOff + Math.max(8, udpLen);
  if (totalLen >= ihl + 8) end = Math.min(end, ipOff + totalLen);
  if (end > frame.length) {
    stats.snapped++;
    end = frame.length;
  }
  return {
    tsUs,
    srcIp: ipString(frame, ipOff + 12),
    dstIp: ipString(frame, ipOff + 16),
    srcPort: frame.readUInt16BE(udpOff),
    dstPort: frame.readUInt16BE(udpOff + 2),
    payload: frame.subarray(udpOff + 8, end),
  };
}

/** Iterate the IPv4 UDP packets of a pcap buffer; `stats` is filled in as the iteration goes. */
export function* iteratePcap(buf: Buffer, stats: PcapStats = emptyStats()): Generator<UdpPacket> {
  const hdr = readGlobalHeader(buf);
  stats.linkType = hdr.linkType;
  stats.nanosecond = hdr.nanosecond;
  const u32 = hdr.littleEndian ? (o: number) => buf.readUInt32LE(o) : (o: number) => buf.readUInt32BE(o);
  let off = GLOBAL_HEADER_LEN;
  while (off < buf.length) {
    if (buf.length - off < RECORD_HEADER_LEN) {
      stats.truncatedTail = true;
      return;
    }
    const sec = u32(off);
    const frac = u32(off + 4);
    const inclLen = u32(off + 8);
    const dataOff = off + RECORD_HEADER_LEN;
    if (dataOff + inclLen > buf.length) {
      stats.truncatedTail = true;
      return;
    }
    off = dataOff + inclLen;
    stats.records++;
    const frame = buf.subarray(dataOff, dataOff + inclLen);
    const tsUs = sec * 1_000_000 + (hdr.nanosecond ? Math.floor(frac / 1000) : frac);
    const ipOff = ipv4Offset(frame, hdr.linkType);
    if (ipOff < 0) {
      stats.skipped++;
      continue;
    }
    const d = decodeIpv4Udp(frame, ipOff, tsUs, stats);
    if (d === 'fragment') stats.fragments++;
    else if (d === 'skip') stats.skipped++;
    else {
      stats.udp++;
      yield d;
    }
  }
}

export function emptyStats(): PcapStats {
  return { linkType: -1, nanosecond: false, records: 0, udp: 0, fragments: 0, skipped: 0, snapped: 0, truncatedTail: false };
}

export function readPcap(buf: Buffer): PcapResult {
  const stats = emptyStats();
  const packets = [...iteratePcap(buf, stats)];
  return { packets, stats };
}

export async function readPcapFile(path: string): Promise<PcapResult> {
  return readPcap(await readFile(path));
}
