# forkbench: `make bench` and `make test` are the two entry points (see README.md).
SHELL := /bin/bash
FB := node bin/forkbench.js

.PHONY: setup build test bench bench-full figures capacity perf fuzz clean

setup:
	@scripts/ensure-deps.sh sipp tcpdump fonts

build: setup
	@npm run -s build

test:
	@scripts/ensure-deps.sh sipp tcpdump kamailio chromium fonts sshd ip
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

capacity: setup
	@scripts/ensure-deps.sh kamailio
	@npm run -s build
	@$(FB) capacity-sweep --out results/capacity

perf: setup
	@scripts/ensure-deps.sh kamailio
	@npm run -s build
	@$(FB) perf --out results/perf

fuzz:
	@npm run -s build
	@node dist/proxy/fuzz.js 1000000 42

clean:
	rm -rf dist
