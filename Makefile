# forkbench: `make bench` and `make test` are the two entry points (see README.md).
SHELL := /bin/bash
FB := node bin/forkbench.js

.PHONY: setup build test bench bench-full figures capacity perf fuzz mutation torture microbench soak overload clean

setup:
	@scripts/ensure-deps.sh sipp tcpdump fonts

build: setup
	@npm run -s build

test:
	@scripts/ensure-deps.sh sipp tcpdump kamailio chromium fonts sshd ip nft
	@npm run -s build
	@npx vitest run

# Default sweep: both modes, N = 2, 8, 32, two rates; a few minutes on 2 cores.
bench: setup
	@npm run -s build
	@$(FB) bench --config harness/presets/default.json --out results/latest
	@$(FB) report results/latest
	@echo "results: results/latest/points.csv, results/latest/meta.json, figures and report: results/latest/report/report.html"

# The paper sweep: every group size and rate, 3 trials each (see README for its duration).
bench-full: setup
	@npm run -s build
	@$(FB) bench --config harness/presets/full.json --out results/full
	@$(FB) report results/full

# Re-render the committed reference run (no sweep needed).
figures:
	@scripts/ensure-deps.sh fonts
	@npm run -s build
	@$(FB) report results/reference

# Capacity is the proxy's only under a CPU budget (DESIGN.md): each process under test gets
# CPU_BUDGET cores (cgroup quota, needs root); CPU_BUDGET=0 runs without one.
CPU_BUDGET ?= 0.2
capacity: setup
	@scripts/ensure-deps.sh kamailio
	@npm run -s build
	@$(FB) capacity-sweep --cpu-budget $(CPU_BUDGET) --out results/capacity

perf: setup
	@scripts/ensure-deps.sh kamailio
	@npm run -s build
	@$(FB) perf --out results/perf
	@echo "the core alone, in process (no sockets, kernel or scheduler): proxy/bench/call-cpu.ts" | tee -a results/perf/perf.txt
	@node dist/proxy/bench/call-cpu.js 3000 16 100 2000 | tee -a results/perf/perf.txt
	@node dist/proxy/bench/call-cpu.js 2000 32 50 1000 | tee -a results/perf/perf.txt

# Soak: 30 minutes of group calls at N=16, 100 calls/s; RSS, heap, tables and CPU every 10 s
# (results/soak/soak.csv and soak-over-time.png). SOAK_MINUTES=5 make soak for a shorter one.
SOAK_MINUTES ?= 30
soak: setup
	@npm run -s build
	@$(FB) soak --minutes $(SOAK_MINUTES) --group-size 16 --rate 100 --out results/soak

# Overload: goodput, goodput within 200 ms and 503s at 0.5x to 4x the capacity, N = 8, both modes,
# under CPU_BUDGET (each mode's capacity searched first unless CAPACITY_FROM names a capacity.csv
# found under the same budget, e.g. results/capacity/capacity.csv from make capacity).
overload: setup
	@npm run -s build
	@$(FB) overload --group-size 8 --mode centralized,distributed --cpu-budget $(CPU_BUDGET) --multiples 0.5,1,2,4 --duration-s 15 $(if $(CAPACITY_FROM),--capacity-from $(CAPACITY_FROM)) --out results/overload

fuzz:
	@npm run -s build
	@node dist/proxy/fuzz.js 1000000 42

# Mutation testing (Stryker) of the proxy's unit-tested modules; never part of make test.
# Writes results/mutation/mutation.html and mutation.json; about 26 minutes on 2 cores.
mutation:
	@npm run -s build
	@npx stryker run stryker.config.json

# The 49 RFC 4475 torture messages over UDP to the proxy, both parse modes (also part of make test).
torture:
	@npx vitest run proxy/test/rfc4475-torture.test.ts

# Parse and forward cost per message type and parse mode, ns per operation (never part of make test).
# PARSER_DIR=/path/to/other/proxy benchmarks another parser copy the same way (before/after).
microbench:
	@mkdir -p results
	@npx vitest bench --run --config vitest.bench.config.ts --outputJson results/microbench.json > /dev/null
	@node scripts/microbench-table.mjs results/microbench.json "$${PARSER_DIR:-this tree}"

clean:
	rm -rf dist
