#!/bin/sh
# Profile of the centralized proxy (issue 9): one N=16 point at 100 calls/s per parse mode with the
# proxy under node --cpu-prof (FORKBENCH_PROXY_NODE_ARGS), then its top 15 functions by self time.
# Not a test and not timed: the numbers are what the profile saw on this machine.
#   scripts/profile-proxy.sh            (CALLS=1000 OUT=results/profile BASE_PORT=20000)
set -eu
cd "$(dirname "$0")/.."
CALLS=${CALLS:-1000}
OUT=${OUT:-results/profile}
BASE_PORT=${BASE_PORT:-20000}
npm run -s build
for parse in full lazy; do
  dir="$OUT/$parse"
  rm -rf "$dir"
  mkdir -p "$dir/prof"
  prof=$(cd "$dir/prof" && pwd)
  FORKBENCH_PROXY_NODE_ARGS="--cpu-prof --cpu-prof-dir=$prof" node dist/cli/forkbench.js bench \
    --modes centralized --parse "$parse" --group-sizes 16 --rates 100 --calls "$CALLS" \
    --no-capture --base-port "$BASE_PORT" --out "$dir"
  node dist/harness/measure/cpuprofile-top.js "$prof"/*.cpuprofile | tee "$dir/top.txt"
done
