// Packet capture of the caller's leg with tcpdump, for microsecond setup delays (SIPp's own
// figures have 1 ms resolution, see DESIGN.md). Only the caller's port is captured so the file stays
// small and tcpdump's own CPU cost stays low at high call rates.

import { execFile } from 'node:child_process';
import { access, constants, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { spawnTracked, type TrackedChild } from '../testbed/processes.js';

const execFileP = promisify(execFile);

export interface CaptureOptions {
  file: string; // pcap file to write
  port: number; // the caller's UDP port: the filter is `udp and port <port>`
  ports?: number[]; // more ports (every leg of the proxy under test): `udp and (port a or port b ...)`
  bufferKib?: number; // tcpdump -B (kernel capture buffer, KiB); see captureBufferKib
  iface?: string; // default lo
  tcpdump?: string; // binary, default tcpdump (from PATH)
  startTimeoutMs?: number; // how long to wait for "listening on" (default 5000)
  netns?: string; // capture inside this network namespace (the caller's netns host)
}

export interface TcpdumpStats {
  captured?: number; // "N packets captured"
  receivedByFilter?: number; // "N packets received by filter"
  droppedByKernel?: number; // "N packets dropped by kernel"
}

export interface CaptureResult extends TcpdumpStats {
  file: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface Capture {
  file: string;
  pid: number;
  /**
   * Waits until the file stops growing (tcpdump has written what the kernel queued), sends SIGINT
   * and waits for exit so the file is complete; returns tcpdump's final counters. Stop the traffic first.
   */
  stop(opts?: StopOptions): Promise<CaptureResult>;
}

// --immediate-mode: without it libpcap (TPACKET_V3) hands packets over only when a ring block fills
// or its ~1 s timeout expires, and packets still in the ring when tcpdump gets SIGINT are lost: a
// short capture stopped right after the traffic comes back empty.
export interface StopOptions {
  settleMs?: number; // the file must not grow for this long before SIGINT (default 150)
  maxSettleMs?: number; // but SIGINT after this long in any case (default 2000)
  graceMs?: number; // SIGKILL if tcpdump has not exited this long after SIGINT (default 3000)
}

// On SIGINT tcpdump leaves its loop at once: packets still in its ring buffer are lost, even the ones
// sent well before the signal when tcpdump had no CPU yet. So stop only once the file stops growing.
async function waitForQuiet(file: string, settleMs: number, maxSettleMs: number): Promise<void> {
  const size = async () => (await stat(file).catch(() => undefined))?.size ?? -1;
  const deadline = Date.now() + maxSettleMs;
  let last = await size();
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(25, settleMs)));
    const now = await size();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= settleMs) return;
  }
}

/** The BPF filter: the caller's port, plus every other leg asked for. */
export function captureFilter(opts: Pick<CaptureOptions, 'port' | 'ports'>): string {
  const ports = [...new Set([opts.port, ...(opts.ports ?? [])])];
  return ports.length === 1 ? `udp and port ${ports[0]}` : `udp and (${ports.map((p) => `port ${p}`).join(' or ')})`;
}

export function captureArgs(opts: CaptureOptions): string[] {
  const buf = opts.bufferKib !== undefined ? ['-B', String(Math.round(opts.bufferKib))] : [];
  return ['-i', opts.iface ?? 'lo', ...buf, '-w', opts.file, '-U', '--immediate-mode', '-s', String(CAPTURE_SNAPLEN), captureFilter(opts)];
}

// The snapshot length sets the capture ring's slot size. In immediate mode libpcap uses TPACKET_V2,
// whose ring has one fixed-size frame per packet, snaplen bytes plus headers: with -s 0 (256 KiB)
// a 9 MiB buffer held ~36 packets, and tcpdump dropped packets whenever it lagged a few ms behind
// (measured: 856 of 928 packets lost after a 1 s pause, none with -s 4096). Every SIP message of
// these scenarios fits in 4096 bytes; a longer one loses only the end of its body, its headers stay
// (the pcap reader counts it as snapped). Hold 2 s of the peak packet rate so that a capture
// starved of CPU for a moment (tcpdump shares the cores) catches up instead of dropping.
export const CAPTURE_SNAPLEN = 4096;
const RING_BYTES_PER_PACKET = CAPTURE_SNAPLEN + 128; // frame: tpacket2_hdr + sockaddr_ll + alignment
const RING_SECONDS = 2;
export const MIN_BUFFER_KIB = 4096; // libpcap's default is 2 MiB
export const MAX_BUFFER_KIB = 256 * 1024;

/**
 * tcpdump -B for a capture of `packetsPerCall` datagrams per call at `rate` calls/s (for every leg of
 * a centralized proxy that is 7N+6 per call, for the caller's leg alone about 8).
 */
export function captureBufferKib(rate: number, packetsPerCall: number): number {
  const kib = Math.ceil((rate * packetsPerCall * RING_BYTES_PER_PACKET * RING_SECONDS) / 1024);
  return Math.min(MAX_BUFFER_KIB, Math.max(MIN_BUFFER_KIB, kib));
}

/** Parses the statistics tcpdump prints on stderr when it exits. */
export function parseTcpdumpStats(stderr: string): TcpdumpStats {
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(stderr);
    return m ? Number(m[1]) : undefined;
  };
  return {
    captured: num(/(\d+) packets? captured/),
    receivedByFilter: num(/(\d+) packets? received by filter/),
    droppedByKernel: num(/(\d+) packets? dropped by kernel/),
  };
}

async function which(bin: string): Promise<string | undefined> {
  if (bin.includes('/')) return bin;
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = `${dir || '.'}/${bin}`;
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Whether tcpdump is installed and allowed to capture (root, or CAP_NET_RAW on us or the binary). */
export async function canCapture(tcpdump = 'tcpdump'): Promise<{ ok: boolean; reason?: string }> {
  const path = await which(tcpdump);
  if (!path) return { ok: false, reason: `${tcpdump} not found in PATH: install tcpdump (apt-get install tcpdump)` };
  if (process.getuid?.() === 0) return { ok: true };
  try {
    const { stdout } = await execFileP('getcap', [path]);
    if (/cap_net_raw/i.test(stdout)) return { ok: true };
  } catch {
    // getcap missing: fall through to the test capture below
  }
  // Last resort: ask tcpdump itself to open lo briefly (-c 0 is invalid, so capture with a timeout).
  try {
    await execFileP(path, ['-i', 'lo', '-c', '1', '-w', '/dev/null', 'udp and port 9'], { timeout: 500 });
    return { ok: true };
  } catch (e) {
    const err = e as { stderr?: string; killed?: boolean };
    if (err.killed) return { ok: true }; // it was listening until the timeout
    const why = (err.stderr ?? '').trim().split('\n').pop() ?? '';
    return { ok: false, reason: `tcpdump cannot capture on lo (${why || 'permission denied'}): run as root or setcap cap_net_raw+ep ${path}` };
  }
}

/** Starts tcpdump and resolves once it reports "listening on" (packets before that would be lost). */
export async function startCapture(opts: CaptureOptions): Promise<Capture> {
  const timeoutMs = opts.startTimeoutMs ?? 5000;
  const bin = opts.tcpdump ?? 'tcpdump';
  const [cmd, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, bin, ...captureArgs(opts)]] : [bin, captureArgs(opts)];
  const proc: TrackedChild = spawnTracked(cmd, argv, { name: `tcpdump:${opts.port}` });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      void proc.stop(500);
      reject(new Error(`tcpdump did not start listening within ${timeoutMs} ms: ${stderr.trim()}`));
    }, timeoutMs);
    const onData = (c: Buffer) => {
      stderr += c.toString();
      if (stderr.includes('listening on')) {
        cleanup();
        resolve();
      }
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`tcpdump exited before listening: ${(stderr || proc.stderrTail()).trim()}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      proc.child.stderr?.off('data', onData);
      proc.child.off('exit', onExit);
    };
    proc.child.stderr?.on('data', onData);
    proc.child.once('exit', onExit);
  });
  return {
    file: opts.file,
    pid: proc.pid,
    async stop(stopOpts: StopOptions = {}): Promise<CaptureResult> {
      if (proc.running) await waitForQuiet(opts.file, stopOpts.settleMs ?? 150, stopOpts.maxSettleMs ?? 2000);
      // SIGINT makes tcpdump flush, close the file and print its counters.
      const info = await proc.stop(stopOpts.graceMs ?? 3000, 'SIGINT');
      const text = proc.stderrTail();
      return { file: opts.file, exitCode: info.code, signal: info.signal, stderr: text, ...parseTcpdumpStats(text) };
    },
  };
}

/** What a row needs to trust its capture (issue 10, capture integrity). */
export interface CaptureIntegrity {
  droppedByKernel: number | undefined; // tcpdump's "dropped by kernel" (undefined: tcpdump printed none)
  truncated: boolean; // the pcap's last record was cut short, or fewer records than tcpdump captured
  flags: string[]; // reasons to flag the row; empty when the capture can be trusted
}

export interface IntegrityInput {
  tcpdump: TcpdumpStats;
  pcapRecords: number; // complete records the reader found
  pcapTruncatedTail: boolean;
  pcapFailedCalls?: number; // calls failed or unanswered in the capture (whole run)
  sippFailedCalls?: number; // SIPp's own FailedCall(C) for the whole run
}

/** Flags a capture that lost packets, was cut short, or disagrees with SIPp about failed calls. */
export function checkCaptureIntegrity(x: IntegrityInput): CaptureIntegrity {
  const flags: string[] = [];
  const dropped = x.tcpdump.droppedByKernel;
  if (dropped !== undefined && dropped > 0) flags.push(`capture dropped ${dropped} packets (kernel)`);
  // "received by filter" is no check: on lo the filter sees each datagram twice (out and in) and
  // tcpdump keeps one, so it is twice "captured" with nothing lost.
  const shortFile = x.tcpdump.captured !== undefined && x.pcapRecords < x.tcpdump.captured;
  const truncated = x.pcapTruncatedTail || shortFile;
  if (x.pcapTruncatedTail) flags.push('capture truncated (last record cut short)');
  else if (shortFile) flags.push(`capture truncated (${x.pcapRecords} records in the file, tcpdump captured ${x.tcpdump.captured})`);
  if (x.pcapFailedCalls !== undefined && x.sippFailedCalls !== undefined && x.pcapFailedCalls !== x.sippFailedCalls) {
    flags.push(`failed calls: capture ${x.pcapFailedCalls}, SIPp ${x.sippFailedCalls}`);
  }
  return { droppedByKernel: dropped, truncated, flags };
}
