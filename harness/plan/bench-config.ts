// The sweep's configuration: defaults < config file (JSON) < command-line flags. Every problem is
// reported as a ConfigError with ONE line that names the problem and the fix, because it is shown
// to the user as is.

import { readFile } from 'node:fs/promises';
import { faultPlan } from '../faults/point-faults.js';
import { KillSpecError } from '../faults/kill-fork-node.js';
import { LossError } from '../faults/loss.js';

export const MODES = ['centralized', 'distributed'] as const;
export const TARGETS = ['forkbench', 'kamailio', 'external'] as const;
export const PARSE_MODES = ['auto', 'full', 'lazy'] as const;
export const RELAY180 = ['first', 'all'] as const;

export type Mode = (typeof MODES)[number];
export type Target = (typeof TARGETS)[number];
export type ParseMode = (typeof PARSE_MODES)[number];
export type Relay180 = (typeof RELAY180)[number];

export interface BenchConfig {
  modes: Mode[];
  targets: Target[];
  parse: ParseMode[];
  groupSizes: number[];
  rates: number[]; // calls/s
  calls: number; // calls per point (per trial)
  repeat: number; // trials per point
  warmupS: number; // seconds excluded from the measured window at the start of each point
  forkNodes: number; // K, for the distributed mode
  ringMs: number; // how long members ring before the answerer answers
  holdMs: number; // call duration after the answer
  out: string; // results directory
  basePort: number; // first UDP port of the block a point uses
  pin: boolean; // pin roles to CPUs (taskset)
  capture: boolean; // tcpdump the caller's leg for µs delays
  relay180: Relay180; // every forking proxy under test (centralized, head, fork nodes) relays the first 180 per call, or all
  cpuBudget: number; // cores of CPU quota per process under test (cgroup, 10 ms period); 0 = no budget
  loss: string; // --loss PCT[:members|all]: nftables drops that share of datagrams ('' = none)
  killForkNode: string; // --kill-fork-node WHEN[:NODE]: SIGKILL a fork node during each point ('' = none)
}

export const DEFAULT_CONFIG: Readonly<BenchConfig> = Object.freeze({
  modes: ['centralized', 'distributed'],
  targets: ['forkbench'],
  parse: ['auto'],
  groupSizes: [2, 8, 32],
  rates: [10, 50, 100],
  calls: 200,
  repeat: 1,
  warmupS: 2,
  forkNodes: 2,
  ringMs: 20,
  holdMs: 100,
  out: 'results',
  basePort: 20000,
  pin: false,
  capture: true,
  relay180: 'first',
  cpuBudget: 0,
  loss: '',
  killForkNode: '',
} satisfies BenchConfig);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const KEYS = Object.keys(DEFAULT_CONFIG) as (keyof BenchConfig)[];

type Kind = 'string[]' | 'number[]' | 'number' | 'string' | 'boolean';
const KIND: Record<keyof BenchConfig, Kind> = {
  modes: 'string[]', targets: 'string[]', parse: 'string[]', groupSizes: 'number[]', rates: 'number[]',
  calls: 'number', repeat: 'number', warmupS: 'number', forkNodes: 'number', ringMs: 'number', holdMs: 'number',
  out: 'string', basePort: 'number', pin: 'boolean', capture: 'boolean', relay180: 'string', cpuBudget: 'number',
  loss: 'string', killForkNode: 'string',
};
const EXAMPLE: Record<Kind, string> = {
  'string[]': '["a", "b"]', 'number[]': '[2, 8, 32]', number: '100', string: '"text"', boolean: 'true',
};

function hasKind(v: unknown, kind: Kind): boolean {
  switch (kind) {
    case 'string[]': return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'number[]': return Array.isArray(v) && v.every((x) => typeof x === 'number');
    case 'number': return typeof v === 'number';
    case 'string': return typeof v === 'string';
    case 'boolean': return typeof v === 'boolean';
  }
}

function suggest(key: string): string {
  const lower = key.toLowerCase().replace(/[-_]/g, '');
  const hit = KEYS.find((k) => k.toLowerCase() === lower || k.toLowerCase().startsWith(lower) || lower.startsWith(k.toLowerCase()));
  return hit ? `did you mean "${hit}"?` : `known keys: ${KEYS.join(', ')}`;
}

/** 1-based line of a character offset. */
function lineOf(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < Math.min(pos, text.length); i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Parses config file text; `name` (the path) prefixes every message. */
export function parseConfigText(name: string, text: string): Partial<BenchConfig> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    // V8 messages differ across Node versions; some give "position N", some also "(line L column C)".
    const pos = /position (\d+)/.exec(msg);
    const line = pos ? lineOf(text, Number(pos[1])) : text.replace(/\s+$/, '').split('\n').length;
    const what = msg
      .replace(/\s*\(line \d+ column \d+\)/, '')
      .replace(/\s+in JSON at position \d+/, '')
      .replace(/, "[\s\S]*" is not valid JSON$/, '') // V8 quotes the source here, line breaks and all
      .replace(/\r?\n/g, '\\n');
    throw new ConfigError(`${name}: not valid JSON at line ${line}: ${what}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`${name}: the file must hold one JSON object, e.g. {"groupSizes": [2, 8, 32]}`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (!(KEYS as string[]).includes(key)) throw new ConfigError(`${name}: unknown key "${key}": ${suggest(key)}`);
    const kind = KIND[key as keyof BenchConfig];
    if (!hasKind(value, kind)) {
      throw new ConfigError(`${name}: "${key}" must be ${kind.endsWith('[]') ? `an array of ${kind.slice(0, -2)}s` : `a ${kind}`}, e.g. "${key}": ${EXAMPLE[kind]}`);
    }
    out[key] = value;
  }
  return out as Partial<BenchConfig>;
}

export async function loadConfigFile(path: string): Promise<Partial<BenchConfig>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): check the path given to --config`);
  }
  return parseConfigText(path, text);
}

/** Later layers win; undefined values (flags not given) do not override. Arrays are copied. */
export function mergeConfig(defaults: Readonly<BenchConfig>, file: Partial<BenchConfig> = {}, flags: Partial<BenchConfig> = {}): BenchConfig {
  const out = { ...defaults } as Record<string, unknown>;
  for (const layer of [file, flags]) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) out[k] = v;
  }
  for (const k of KEYS) if (Array.isArray(out[k])) out[k] = [...(out[k] as unknown[])];
  return out as unknown as BenchConfig;
}

function oneOf(list: readonly string[]): string {
  return list.length <= 1 ? list.join('') : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
}

function isInt(n: number): boolean {
  return Number.isInteger(n);
}

/** Throws a ConfigError for the first problem found; returns the config for chaining. */
export function validateConfig(c: BenchConfig): BenchConfig {
  const fail = (msg: string): never => {
    throw new ConfigError(msg);
  };
  const checkList = <T extends string>(list: readonly string[], allowed: readonly T[], what: string, flag: string) => {
    if (list.length === 0) fail(`no ${what}s given: give ${flag} with ${oneOf(allowed)}`);
    for (const v of list) if (!allowed.includes(v as T)) fail(`unknown ${what} "${v}": use ${oneOf(allowed)}`);
  };
  checkList(c.modes, MODES, 'mode', '--modes');
  checkList(c.targets, TARGETS, 'target', '--targets');
  checkList(c.parse, PARSE_MODES, 'parse mode', '--parse');
  if (!(RELAY180 as readonly string[]).includes(c.relay180)) fail(`unknown relay180 "${c.relay180}": use ${oneOf(RELAY180)}`);

  const sizeFix = 'give sizes >= 1, e.g. --group-sizes 2,8,32';
  if (c.groupSizes.length === 0) fail(`no group sizes given: ${sizeFix}`);
  for (const n of c.groupSizes) {
    if (!Number.isFinite(n) || !isInt(n)) fail(`group size ${n} is not a whole number: ${sizeFix}`);
    if (n < 1) fail(`group size ${n} is below 1: ${sizeFix}`);
  }
  const rateFix = 'give rates in calls/s above 0, e.g. --rates 10,50,100';
  if (c.rates.length === 0) fail(`no call rates given: ${rateFix}`);
  for (const r of c.rates) if (!Number.isFinite(r) || r <= 0) fail(`call rate ${r} is not above 0: ${rateFix}`);

  const wholeAtLeast = (v: number, minV: number, what: string, flag: string) => {
    if (!Number.isFinite(v) || !isInt(v)) fail(`${what} ${v} is not a whole number: give ${flag} ${Math.max(minV, 1)} or more`);
    if (v < minV) fail(`${what} ${v} is below ${minV}: give ${flag} ${minV} or more`);
  };
  const atLeastZero = (v: number, what: string, flag: string) => {
    if (!Number.isFinite(v) || v < 0) fail(`${what} ${v} is negative: give ${flag} 0 or more`);
  };
  wholeAtLeast(c.calls, 1, 'calls', '--calls');
  wholeAtLeast(c.repeat, 1, 'repeat', '--repeat');
  atLeastZero(c.warmupS, 'warm-up', '--warmup');
  if (c.modes.includes('distributed')) wholeAtLeast(c.forkNodes, 1, 'fork nodes', '--fork-nodes');
  atLeastZero(c.ringMs, 'ring time', '--ring-ms');
  atLeastZero(c.holdMs, 'hold time', '--hold-ms');
  if (!Number.isFinite(c.cpuBudget) || c.cpuBudget < 0 || (c.cpuBudget > 0 && c.cpuBudget < 0.1)) {
    fail(`CPU budget ${c.cpuBudget} cores is not 0 (none) or at least 0.1: give --cpu-budget 0.2, for example`);
  }
  if (c.out.trim() === '') fail('output directory is empty: give --out DIR');
  if (!isInt(c.basePort) || c.basePort < 1024 || c.basePort > 60000) {
    fail(`base port ${c.basePort} is outside 1024-60000: give --base-port in that range, e.g. --base-port 20000`);
  }
  try {
    const plan = faultPlan(c);
    if (plan.kill && !c.modes.includes('distributed')) fail('--kill-fork-node needs fork nodes: add distributed to --modes');
    if (plan.kill && c.targets.includes('kamailio')) fail('--kill-fork-node applies to forkbench fork nodes: drop kamailio from --targets');
  } catch (e) {
    if (e instanceof LossError || e instanceof KillSpecError) fail(e.message);
    throw e;
  }
  return c;
}

export interface SweepPoint {
  pointId: string; // stable: target/mode/parse/nN/rR/tT
  target: Target;
  mode: Mode;
  parse: 'full' | 'lazy' | 'n/a'; // resolved: auto -> full (centralized) or lazy (distributed head); n/a for kamailio
  groupSize: number;
  forkNodes: number; // 0 for centralized
  rate: number;
  trial: number; // 1..repeat
}

/** Each mode's own parse: the distributed head parses lazily (DESIGN.md), the centralized proxy fully; n/a for Kamailio. */
export function defaultParse(target: string, mode: string): 'full' | 'lazy' | 'n/a' {
  return target === 'forkbench' ? resolveParse(mode as Mode, 'auto') : 'n/a';
}

/** What `auto` means for forkbench: the mode's default parse. */
export function resolveParse(mode: Mode, parse: ParseMode): 'full' | 'lazy' {
  return parse === 'auto' ? (mode === 'distributed' ? 'lazy' : 'full') : parse;
}

export function pointId(p: Omit<SweepPoint, 'pointId' | 'forkNodes'>): string {
  return `${p.target}/${p.mode}/${p.parse}/n${p.groupSize}/r${p.rate}/t${p.trial}`;
}

/**
 * Every point of the sweep, target x mode x parse x N x rate x trial, in that nesting order.
 * Kamailio runs with parse "n/a" (distributed: a Kamailio head and K Kamailio fork nodes); duplicates (e.g. auto and full
 * for centralized) are listed once.
 */
export function sweepPoints(c: BenchConfig): SweepPoint[] {
  const out: SweepPoint[] = [];
  const seen = new Set<string>();
  for (const target of c.targets) {
    for (const mode of c.modes) {
      // An external proxy is whatever it is: one series, labelled centralized.
      if (target === 'external' && mode !== 'centralized') continue;
      for (const parseMode of c.parse) {
        const parse = target === 'forkbench' ? resolveParse(mode, parseMode) : 'n/a';
        for (const groupSize of c.groupSizes) {
          for (const rate of c.rates) {
            for (let trial = 1; trial <= c.repeat; trial++) {
              const base = { target, mode, parse, groupSize, rate, trial } as const;
              const id = pointId(base);
              if (seen.has(id)) continue;
              seen.add(id);
              out.push({ pointId: id, ...base, forkNodes: mode === 'distributed' ? c.forkNodes : 0 });
            }
          }
        }
      }
    }
  }
  return out;
}
