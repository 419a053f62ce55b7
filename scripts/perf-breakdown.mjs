#!/usr/bin/env node
// Where a proxy process's CPU goes, from `perf script -F tid,ip,sym` output of `perf record -g -p PID`
// with the proxy under node --perf-basic-prof (JIT frames named). Each sample is put in one bucket
// by what is on its stack, in this order: send path, the proxy's own JS, receive path, timers, GC,
// epoll. Threads other than the main one are V8's GC helpers and Node's platform workers.
// Why not --cpu-prof: V8's sampler charged 54-61 % to doSend, where perf sees 21-27 %.
//   scripts/perf-breakdown.mjs perf-script.txt MAIN_TID
import { readFileSync } from 'node:fs';

const [file, mainTid] = process.argv.slice(2);
if (!file || !mainTid) {
  console.error('usage: perf-breakdown.mjs perf-script.txt MAIN_TID');
  process.exit(2);
}
const buckets = [
  ['send: dgram send, sendmsg, waking the receiver', /Socket\.send|UDPWrap::Send|UDPWrap::DoSend/],
  ["the proxy's JS (parse, match, fork, write)", /file:\/\/.*\/dist\/proxy\//],
  ['receive: recvmsg, Buffer and rinfo, callback entry', /UDPWrap::OnRecv|uv__udp_io/],
  ['timers', /RunTimers|processTimers/],
  ['GC on the main thread', /Heap::|Scaveng/],
  ['epoll wait, context switches', /do_epoll_wait|uv__io_poll/],
];
const counts = new Map();
let total = 0;
const bump = (k) => counts.set(k, (counts.get(k) ?? 0) + 1);
for (const sample of readFileSync(file, 'utf8').split(/\n\s*\n/)) {
  const lines = sample.trim().split('\n');
  if (lines.length < 2) continue;
  total++;
  if (lines[0].trim().split(/\s+/)[0] !== mainTid) {
    bump('other threads (GC helpers, platform workers)');
    continue;
  }
  const stack = lines.slice(1).join('\n');
  // Without frame pointers (glibc malloc, some kernel paths) the stack stops short of main().
  if (!stack.includes('node::Start')) {
    bump('main thread, stack not unwound (mostly malloc, context switch)');
    continue;
  }
  const hit = buckets.find(([, re]) => re.test(stack));
  bump(hit ? hit[0] : 'other');
}
console.log(`${total} samples`);
for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
