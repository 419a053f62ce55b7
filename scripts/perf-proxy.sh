#!/bin/sh
# Where the centralized proxy's CPU goes, seen by Linux perf (issue 9): one N=16 point at 100 calls/s
# per parse mode, the proxy under node --perf-basic-prof so JIT frames have names, `perf record -g`
# on its process for RECORD_S seconds mid-point, then scripts/perf-breakdown.mjs. Needs root and perf.
# Not a test and not timed: the shares are what perf saw on this machine.
#   scripts/perf-proxy.sh        (CALLS=2000 RECORD_S=8 OUT=results/perf-profile BASE_PORT=20400)
set -eu
cd "$(dirname "$0")/.."
CALLS=${CALLS:-2000}
RECORD_S=${RECORD_S:-8}
OUT=${OUT:-results/perf-profile}
BASE_PORT=${BASE_PORT:-20400}
command -v perf >/dev/null || { echo "perf-proxy: perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
npm run -s build
for parse in full lazy; do
  dir="$OUT/$parse"
  rm -rf "$dir"
  mkdir -p "$dir"
  FORKBENCH_PROXY_NODE_ARGS="--perf-basic-prof" node dist/cli/forkbench.js bench \
    --modes centralized --parse "$parse" --group-sizes 16 --rates 100 --calls "$CALLS" \
    --no-capture --base-port "$BASE_PORT" --out "$dir" > "$dir/bench.log" 2>&1 &
  bench=$!
  pid=""
  for _ in $(seq 1 60); do
    pid=$(pgrep -f "forkbench.js proxy --listen 127.0.0.1:$BASE_PORT " | head -1 || true)
    [ -n "$pid" ] && break
    sleep 0.5
  done
  [ -n "$pid" ] || { echo "perf-proxy: the proxy did not start (see $dir/bench.log)" >&2; kill "$bench" 2>/dev/null; exit 1; }
  sleep 5 # past the warm-up
  perf record -q -g -p "$pid" -o "$dir/perf.data" -- sleep "$RECORD_S" 2>/dev/null
  wait "$bench"
  perf script -i "$dir/perf.data" -F tid,ip,sym > "$dir/perf-script.txt" 2>/dev/null
  echo "== $parse (proxy pid $pid, $RECORD_S s mid-point)" | tee "$dir/breakdown.txt"
  node scripts/perf-breakdown.mjs "$dir/perf-script.txt" "$pid" | tee -a "$dir/breakdown.txt"
  rm -f /tmp/perf-"$pid".map
done
