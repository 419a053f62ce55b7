#!/bin/bash
# Idle CPU of the proxy: one or more builds side by side, no traffic, utime+stime from /proc.
# Usage: proxy/bench/idle-cpu.sh SECONDS DIST_DIR [DIST_DIR...]
#   e.g. proxy/bench/idle-cpu.sh 60 /path/to/main/dist dist
# Ports 18580.. (UDP), one per build. Every proxy it starts is stopped on exit.
set -euo pipefail
secs=${1:?seconds}; shift
groups=$(mktemp /tmp/forkbench-idle-XXXX.json)
echo '{"groups":{"g2":["sip:m1@127.0.0.1:18598","sip:m2@127.0.0.1:18599"]}}' > "$groups"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -f "$groups"; }
trap cleanup EXIT INT TERM
port=18580
for d in "$@"; do
  node "$d/cli/forkbench.js" proxy --listen 127.0.0.1:$port --groups "$groups" > /dev/null &
  pids+=($!); port=$((port + 1))
done
sleep 5
for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "idle-cpu: a proxy did not start (pid $p)" >&2; exit 2; }; done
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
before=(); for p in "${pids[@]}"; do before+=("$(cpu "$p")"); done
t0=$(date +%s.%N); sleep "$secs"; t1=$(date +%s.%N)
i=0
for d in "$@"; do
  after=$(cpu "${pids[$i]}")
  awk -v a="$after" -v b="${before[$i]}" -v hz="$hz" -v t0="$t0" -v t1="$t1" -v d="$d" \
    'BEGIN { printf "%s: %.3f%% of a core idle over %.0f s\n", d, 100 * (a - b) / hz / (t1 - t0), t1 - t0 }'
  i=$((i + 1))
done
