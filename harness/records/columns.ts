// The columns of results/<run>/points.csv, in order. One row per sweep point and trial.
// Units are in the names (_us microseconds, _ms milliseconds, _pct percent of one core, _kb KiB,
// _cps calls per second). Definitions follow ../shared/DESIGN.md ("Metrics"), RFC 6076 and RFC 7501.
// The report (reports/) and `forkbench compare` read these names; bump SCHEMA_VERSION when they change.

export const SCHEMA_VERSION = 2;

// Columns added in schema 2 (issue 10); a reader meets files without them (schema 1) and reads them as empty.
export const POINT_COLUMNS_SINCE_2 = [
  'cpu_budget_cores', // CPU quota per process under test, cores (empty: none)
  'relay_180', // first | all: 18x relaying of every forking proxy under test
  'forknode_parse', // full | lazy: parse mode of the fork nodes (empty for centralized)
  'head_throttled_pct', // % of the central process's CFS periods in which it hit its quota (under a budget)
  'head_idle_cpu_pct', // the central process's CPU before any call, % of one core
  'fanout_p50_us', // proxy's own delay: caller's INVITE in -> last branch INVITE out (every leg captured)
  'fanout_p95_us',
  'fanout_p99_us',
  'ring_transit_p50_us', // first 180 in from a member -> first 180 out to the caller
  'ring_transit_p95_us',
  'ring_transit_p99_us',
  'answer_transit_p50_us', // 200 in from the answerer -> 200 out to the caller
  'answer_transit_p95_us',
  'answer_transit_p99_us',
  'capture_dropped', // tcpdump's "dropped by kernel"
  'capture_truncated', // 1 when the capture file was cut short
  'sipp_failed_calls', // SIPp's FailedCall(C), whole run (cross-check of the capture's failures)
  'testbed_cpu_pct', // SIPp + tcpdump + harness over the window, % of one core
  'machine_busy_pct', // whole machine from /proc/stat, % of all cores
  'testbed_bound', // 1 when the machine was > 90% busy or the caller achieved < 97% of the offered rate
  'speed_probe_ns', // the host's speed over the window: CPU ns per speed-probe unit (measure/speed-probe.ts)
] as const;

export const POINT_COLUMNS = [
  'schema_version', // SCHEMA_VERSION of the writer
  'point_id', // stable key of the sweep point: target/mode/parse/N/rate/trial, used by --resume
  'trial', // 1..R (the --repeat index)
  'target', // forkbench | kamailio
  'mode', // centralized | distributed
  'parse', // full | lazy (parse mode of the central proxy / head); "n/a" for kamailio
  'group_size', // N, members rung per call
  'fork_nodes', // K (0 for centralized)
  'offered_rate_cps', // call rate SIPp was asked for
  'achieved_rate_cps', // attempted calls / measured window
  'warmup_s', // seconds of warm-up before the measured window
  'window_s', // length of the measured window in seconds
  'calls_attempted', // calls SIPp started in the whole point
  'calls_succeeded',
  'calls_failed',
  'fail_causes', // e.g. "408:2;480:1;timeout:1", empty when none
  'ser', // Session Establishment Ratio = answered / attempted (0..1)
  'ringing_mean_us', // INVITE sent -> first 180 received, at the caller
  'ringing_p50_us',
  'ringing_p95_us',
  'setup_mean_us', // INVITE sent -> 200 OK received, at the caller (RFC 6076 SRD)
  'setup_p50_us',
  'setup_p95_us',
  'setup_p99_us',
  'setup_max_us',
  'delay_source', // pcap (microsecond capture of the caller's leg) | sipp (1 ms fallback)
  'sipp_setup_mean_ms', // SIPp's own rtd figures, cross-check
  'sipp_setup_p95_ms',
  'head_cpu_pct', // central proxy (centralized) or head (distributed), % of one core, measured window
  'forknodes_cpu_pct', // sum over fork nodes, % of one core (0 for centralized)
  'total_cpu_pct', // head + fork nodes
  'cpu_us_per_call', // head (or proxy) CPU microseconds per successful call
  'total_cpu_us_per_call', // head + fork nodes CPU microseconds per successful call
  'head_peak_rss_kb',
  'msgs_per_call', // SIP messages received + sent by the central proxy / head, per attempted call
  ...POINT_COLUMNS_SINCE_2,
  'flagged', // 1 when a cross-check failed (see flag_reason)
  'flag_reason',
  'status', // ok | failed (the point did not complete; error says why)
  'error',
] as const;

export type PointColumn = (typeof POINT_COLUMNS)[number];
export type PointRow = Record<PointColumn, string | number>;

export const CAPACITY_COLUMNS_SINCE_2 = [
  'stop_reason', // resolution | trial-cap | testbed-bound | max-rate | nothing-passed
  'confirmed', // 1 when capacity_cps held in at least 2 of its trials, a majority (a confirmation passed)
  'proving_achieved_cps', // calls/s the caller really placed in the proving trial
  'trial_window_s', // measured seconds per trial (at least 10, or 1,000 calls)
  'cpu_budget_cores', // CPU quota per process under test (empty: none)
  'lower_bound_cps', // test-bed-bound searches: the highest rate the proxy held before the test bed gave out
  'resolution_pct', // ... or this % of the first failing rate when finer (0: off)
  'speed_probe_ns', // the host's speed over the search: mean of its trials' speed_probe_ns
  'capacity_ref_cps', // capacity_cps on the reference core: x speed_probe_ns / SPEED_PROBE_REF_NS (speed-probe.ts)
] as const;

// The columns of results/<run>/capacity.csv: one row per capacity search (RFC 7502 style).
export const CAPACITY_COLUMNS = [
  'schema_version',
  'target', // forkbench | kamailio
  'mode', // centralized | distributed
  'parse',
  'group_size',
  'fork_nodes',
  'capacity_cps', // highest call rate whose whole trial held (0 when even the lowest failed)
  'resolution_cps', // the search stops when pass and fail are this close
  'max_p95_setup_ms', // the criterion: p95 setup delay bound
  'min_ser', // the criterion: SER floor
  'trial_calls',
  'proving_setup_p95_us', // p95 setup delay of the trial that proves the capacity
  'proving_ser',
  'trials', // number of trials run by the search
  ...CAPACITY_COLUMNS_SINCE_2,
] as const;

export type CapacityColumn = (typeof CAPACITY_COLUMNS)[number];
export type CapacityRow = Record<CapacityColumn, string | number>;

// The columns of <out>/overload.csv (forkbench overload, faults/overload.ts): one row per mode and load.
export const OVERLOAD_COLUMNS = [
  'multiple', // offered load / capacity
  'mode', // centralized | distributed
  'group_size',
  'cpu_budget_cores', // CPU quota per proxy process, cores (empty: none)
  'capacity_cps', // the capacity the multiples are taken of (the 1x rate)
  'offered_cps',
  'achieved_cps', // INVITEs the caller placed per second in the window
  'window_s',
  'calls_attempted', // in the window
  'calls_answered',
  'goodput_cps', // calls answered per second, however late
  'timely_bound_ms', // the setup delay a call must be answered within to count as timely (the capacity criterion's p95 bound)
  'timely_cps', // calls answered within timely_bound_ms, per second (the measure that must hold)
  'rejected_503', // calls that got 503 from the proxy, in the window
  'rejected_503_per_s',
  'other_failures', // e.g. timeouts (no final response), 408, 500
  'ser',
  'setup_p95_us',
  'goodput_vs_1x', // goodput / goodput at 1x (the base: the lowest multiple when 1x is not run)
  'timely_vs_1x', // timely_cps / timely_cps at 1x (the same base)
  'holds', // 1 when timely_vs_1x >= 0.8 x min(1, multiple) (goodput_vs_1x when the timely count is not known)
  'status', // ok | failed (the point did not complete)
  'flagged', // 1 when a number is in doubt: the caller could not offer the load, or a cross-check of the point failed
  'flag_reason',
  'error', // why the point failed (status failed), e.g. a caller still busy at the deadline
] as const;
