import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, loadConfigFile, mergeConfig, sweepPoints, validateConfig, type BenchConfig } from '../plan/bench-config.js';

const dir = mkdtempSync(join(tmpdir(), 'fb-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cfg = (patch: Partial<BenchConfig>): BenchConfig => mergeConfig(DEFAULT_CONFIG, {}, patch);

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

async function fileError(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  writeFileSync(p, text);
  try {
    await loadConfigFile(p);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg.replace(dir + '/', '');
  }
  throw new Error('expected a ConfigError');
}

describe('bench config', () => {
  it('defaults are valid', () => {
    expect(validateConfig(mergeConfig(DEFAULT_CONFIG))).toEqual(DEFAULT_CONFIG);
  });

  it('merges defaults < file < flags, ignoring undefined flags', () => {
    const c = mergeConfig(DEFAULT_CONFIG, { rates: [5], calls: 50 }, { calls: 10, holdMs: undefined });
    expect(c.rates).toEqual([5]);
    expect(c.calls).toBe(10);
    expect(c.holdMs).toBe(DEFAULT_CONFIG.holdMs);
    c.groupSizes.push(99);
    expect(DEFAULT_CONFIG.groupSizes).not.toContain(99);
  });

  it('reports each problem in one line naming the fix', () => {
    const cases: [Partial<BenchConfig>, string][] = [
      [{ modes: ['central' as never] }, 'unknown mode "central": use centralized or distributed'],
      [{ targets: ['asterisk' as never] }, 'unknown target "asterisk": use forkbench, kamailio or external'],
      [{ parse: ['eager' as never] }, 'unknown parse mode "eager": use auto, full or lazy'],
      [{ modes: [] }, 'no modes given: give --modes with centralized or distributed'],
      [{ groupSizes: [2, 0] }, 'group size 0 is below 1: give sizes >= 1, e.g. --group-sizes 2,8,32'],
      [{ groupSizes: [2.5] }, 'group size 2.5 is not a whole number: give sizes >= 1, e.g. --group-sizes 2,8,32'],
      [{ groupSizes: [] }, 'no group sizes given: give sizes >= 1, e.g. --group-sizes 2,8,32'],
      [{ rates: [10, -1] }, 'call rate -1 is not above 0: give rates in calls/s above 0, e.g. --rates 10,50,100'],
      [{ calls: 0 }, 'calls 0 is below 1: give --calls 1 or more'],
      [{ repeat: 1.5 }, 'repeat 1.5 is not a whole number: give --repeat 1 or more'],
      [{ warmupS: -2 }, 'warm-up -2 is negative: give --warmup 0 or more'],
      [{ forkNodes: 0 }, 'fork nodes 0 is below 1: give --fork-nodes 1 or more'],
      [{ relay180: 'some' as never }, 'unknown relay180 "some": use first or all'],
      [{ basePort: 80 }, 'base port 80 is outside 1024-60000: give --base-port in that range, e.g. --base-port 20000'],
      [{ out: ' ' }, 'output directory is empty: give --out DIR'],
    ];
    for (const [patch, msg] of cases) expect(errorOf(() => validateConfig(cfg(patch)))).toBe(msg);
    // fork nodes do not matter without the distributed mode
    expect(() => validateConfig(cfg({ modes: ['centralized'], forkNodes: 0 }))).not.toThrow();
  });

  it('loads a JSON file and names the file in every problem', async () => {
    const p = join(dir, 'ok.json');
    writeFileSync(p, JSON.stringify({ groupSizes: [4], rates: [20], capture: false }));
    expect(await loadConfigFile(p)).toEqual({ groupSizes: [4], rates: [20], capture: false });

    expect(await fileError('bench.json', '{\n  "rates": [10],\n  "calls": 20 20\n}\n')).toMatch(/^bench\.json: not valid JSON at line 3: \S/);
    expect(await fileError('trailing.json', '{\n  "rates": [10],\n}\n')).toMatch(/^trailing\.json: not valid JSON at line 3: /);
    expect(await fileError('unknown.json', '{"groupSize": [2]}')).toBe('unknown.json: unknown key "groupSize": did you mean "groupSizes"?');
    expect(await fileError('unknown2.json', '{"colour": 1}')).toMatch(/^unknown2\.json: unknown key "colour": known keys: modes, targets, /);
    expect(await fileError('type.json', '{"rates": "10,50"}')).toBe('type.json: "rates" must be an array of numbers, e.g. "rates": [2, 8, 32]');
    expect(await fileError('array.json', '[1]')).toBe('array.json: the file must hold one JSON object, e.g. {"groupSizes": [2, 8, 32]}');
    await expect(loadConfigFile(join(dir, 'nope.json'))).rejects.toThrow(`${join(dir, 'nope.json')}: cannot read the config file (ENOENT): check the path given to --config`);
  });

  it('lists every sweep point with a stable id', () => {
    const c = cfg({ targets: ['forkbench', 'kamailio'], modes: ['centralized', 'distributed'], parse: ['full', 'lazy'], groupSizes: [2, 8], rates: [10, 0.5], repeat: 2, forkNodes: 3 });
    const pts = sweepPoints(c);
    // forkbench: 2 modes x 2 parse x 2 N x 2 rates x 2 trials = 32; kamailio: 2 modes, parse n/a: 16
    expect(pts).toHaveLength(48);
    expect(new Set(pts.map((p) => p.pointId)).size).toBe(48);
    expect(pts[0]).toEqual({ pointId: 'forkbench/centralized/full/n2/r10/t1', target: 'forkbench', mode: 'centralized', parse: 'full', groupSize: 2, forkNodes: 0, rate: 10, trial: 1 });
    expect(pts[1].pointId).toBe('forkbench/centralized/full/n2/r10/t2');
    expect(pts.find((p) => p.mode === 'distributed')?.forkNodes).toBe(3);
    expect(pts.filter((p) => p.target === 'kamailio').every((p) => p.parse === 'n/a')).toBe(true);
    expect(pts.find((p) => p.target === 'kamailio' && p.mode === 'distributed')?.forkNodes).toBe(3);
    expect(pts.some((p) => p.pointId === 'forkbench/distributed/lazy/n8/r0.5/t2')).toBe(true);
    expect(sweepPoints(c).map((p) => p.pointId)).toEqual(pts.map((p) => p.pointId)); // stable

    // auto resolves per mode; auto + full for centralized is one point, not two
    const auto = sweepPoints(cfg({ parse: ['auto', 'full'], groupSizes: [2], rates: [10] }));
    expect(auto.map((p) => p.pointId)).toEqual(['forkbench/centralized/full/n2/r10/t1', 'forkbench/distributed/lazy/n2/r10/t1', 'forkbench/distributed/full/n2/r10/t1']);
  });
});
