// The nftables loss table: spec parsing, the rule text, and (as root) that the table really drops
// datagrams on the listed loopback ports only, and is gone after remove(), after a process exit and
// after Ctrl-C, and that a SIGKILLed harness's table is removed by the next start.
// Ports 26000-26099 (plain UDP sockets, no SIPp).
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installLoss, listOwnTables, lossRuleset, lossUnavailable, parseLossSpec, removeStaleTables, tableExists, tableName, LossError } from '../faults/loss.js';
import { packageRoot } from '../testbed/system.js';

const asRoot = process.getuid?.() === 0;

describe('parseLossSpec', () => {
  it('reads PCT and PCT:legs, members by default', () => {
    expect(parseLossSpec('5')).toEqual({ pct: 5, legs: 'members' });
    expect(parseLossSpec('5:all')).toEqual({ pct: 5, legs: 'all' });
    expect(parseLossSpec('12:members')).toEqual({ pct: 12, legs: 'members' });
  });
  it.each(['0', '100', '-1', 'x', '', '5:some', '5:all:x', '2.5'])('rejects "%s" with the fix', (s) => {
    expect(() => parseLossSpec(s)).toThrow(LossError);
    expect(() => parseLossSpec(s)).toThrow(/--loss PCT\[:members\|all\]/);
  });
});

describe('lossRuleset', () => {
  const ports = { members: [26021, 26020], all: [26000, 26002, 26020, 26021, 26022] };
  it('lists only the member ports for members, every port for all, on loopback UDP', () => {
    const m = lossRuleset({ pct: 5, legs: 'members' }, ports, 'forkbench_1');
    expect(m).toContain('table ip forkbench_1');
    expect(m).toContain('udp dport { 26020, 26021 } goto lossy');
    expect(m).toContain('udp sport { 26020, 26021 } goto lossy');
    expect(m).toContain('numgen random mod 100 < 5 counter drop');
    expect(m).toContain('type filter hook input priority 0');
    expect(m).toContain('iifname "lo" ip saddr 127.0.0.0/8 ip daddr 127.0.0.0/8');
    const a = lossRuleset({ pct: 7, legs: 'all' }, ports, 'forkbench_1');
    expect(a).toContain('udp dport { 26000, 26002, 26020, 26021, 26022 } goto lossy');
    expect(a).toContain('< 7 counter drop');
  });
});

/** Sends `count` datagrams from one socket to another and counts what arrives. */
async function sendAndCount(fromPort: number, toPort: number, count: number): Promise<number> {
  const rx: Socket = createSocket('udp4');
  const tx: Socket = createSocket('udp4');
  let got = 0;
  rx.on('message', () => got++);
  await new Promise<void>((r) => rx.bind(toPort, '127.0.0.1', r));
  await new Promise<void>((r) => tx.bind(fromPort, '127.0.0.1', r));
  for (let i = 0; i < count; i++) {
    await new Promise<void>((r) => tx.send(Buffer.from(`d${i}`), toPort, '127.0.0.1', () => r()));
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 1)); // never overflow the receive buffer
  }
  await new Promise((r) => setTimeout(r, 200));
  rx.close();
  tx.close();
  return got;
}

describe.runIf(asRoot)('installed loss (root)', () => {
  it('drops about PCT% on the listed ports, nothing elsewhere, and is gone after remove()', async () => {
    expect(await lossUnavailable()).toBeUndefined();
    const loss = await installLoss({ pct: 30, legs: 'members' }, { members: [26020], all: [26000, 26020] });
    try {
      expect(await tableExists(loss.table)).toBe(true);
      const lossy = await sendAndCount(26001, 26020, 1000); // to a member port
      const clean = await sendAndCount(26003, 26030, 1000); // ports not listed
      // 30% of 1000: binomial sd ~14.5, so 600..800 arrivals holds with overwhelming probability.
      expect(lossy).toBeGreaterThan(600);
      expect(lossy).toBeLessThan(800);
      expect(clean).toBe(1000);
      const c = await loss.counts();
      expect(c.dropped).toBe(1000 - lossy);
      expect(c.dropped + c.passed).toBe(1000);
    } finally {
      await loss.remove();
    }
    expect(await tableExists(loss.table)).toBe(false);
  });

  /** A child harness that installs a table, prints its name and then does what `mode` says. */
  function child(mode: 'exit' | 'throw' | 'wait'): Promise<{ table: string; code: number | null; signal: NodeJS.Signals | null; kill: (s: NodeJS.Signals) => void; done: Promise<void> }> {
    const script = `
      const { installLoss } = await import(${JSON.stringify(join(packageRoot(), 'dist', 'harness', 'faults', 'loss.js'))});
      const l = await installLoss({ pct: 5, legs: 'all' }, { members: [26040], all: [26040, 26041] });
      console.log('TABLE ' + l.table);
      if ('${mode}' === 'exit') process.exit(0);
      if ('${mode}' === 'throw') throw new Error('a failing point');
      // like the harness: Ctrl-C ends the process through process.exit
      process.on('SIGINT', () => process.exit(130));
      setTimeout(() => {}, 60000);`;
    const p = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    return new Promise((resolve) => {
      let out = '';
      const result = { table: '', code: null as number | null, signal: null as NodeJS.Signals | null, kill: (s: NodeJS.Signals) => void p.kill(s), done: Promise.resolve() };
      result.done = new Promise((d) =>
        p.on('close', (code, signal) => {
          result.code = code;
          result.signal = signal;
          if (!result.table) resolve(result);
          d();
        }),
      );
      p.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /TABLE (\S+)/.exec(out);
        if (m && !result.table) {
          result.table = m[1]!;
          resolve(result);
        }
      });
    });
  }

  it.each(['exit', 'throw'] as const)('a harness that ends (%s) leaves no table', async (mode) => {
    const c = await child(mode);
    expect(c.table).toMatch(/^forkbench_\d+$/);
    await c.done;
    expect(await tableExists(c.table)).toBe(false);
  });

  it('Ctrl-C (SIGINT) removes the table; the table exists while the run lasts', async () => {
    const c = await child('wait');
    expect(await tableExists(c.table)).toBe(true);
    c.kill('SIGINT');
    await c.done;
    expect(c.code).toBe(130);
    expect(await tableExists(c.table)).toBe(false);
  });

  it('a SIGKILLed harness leaves its table, and the next start removes it (a live one is kept)', async () => {
    const c = await child('wait');
    const live = await child('wait');
    c.kill('SIGKILL');
    await c.done;
    expect(await tableExists(c.table)).toBe(true);
    const removed = await removeStaleTables();
    expect(removed).toContain(c.table);
    expect(removed).not.toContain(live.table);
    expect(await tableExists(c.table)).toBe(false);
    expect(await listOwnTables()).toContain(live.table);
    live.kill('SIGINT');
    await live.done;
    expect(await tableExists(live.table)).toBe(false);
  });

  it('names tables with the forkbench prefix and the pid', () => {
    expect(tableName(42)).toBe('forkbench_42');
  });
});

describe('without root', () => {
  it('says in one line that --loss needs root', async () => {
    const why = await lossUnavailable(1000);
    expect(why).toMatch(/^--loss needs root/);
    expect(why).not.toContain('\n');
  });
});
