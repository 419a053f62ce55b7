// Kamailio in the distributed design: the shard rule is forkbench's, the generated head and
// fork-node configs pass `kamailio -c`, and a real SIPp group call at N=8 through a Kamailio head
// and K=2 Kamailio fork nodes succeeds every time, each fork node ringing its half.
// Ports 24000-24099 on 127.0.0.1.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkKamailioConfig, parseGroups, writeKamailioConfig } from '../testbed/targets/kamailio-launcher.js';
import { kamailioShard, renderHeadInclude, shardGroups, startDistributedKamailio, writeShardFiles } from '../testbed/targets/kamailio-distributed.js';
import { parseGroups as proxyParseGroups, shardOf } from '../../proxy/groups.js';
import { LocalHost } from '../testbed/hosts/host.js';
import { startSippOn, type HostSipp } from '../testbed/load/host-sipp.js';
import { readSippStatFile } from '../measure/sipp-stats.js';

const HOST = '127.0.0.1';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'fb-kamd-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

const members = (n: number, base: number): string[] => Array.from({ length: n }, (_v, j) => `sip:m${j + 1}@${HOST}:${base + j}`);

describe('Kamailio distributed', () => {
  it('shards members exactly as forkbench fork nodes do', () => {
    for (let n = 1; n <= 10; n++) {
      const uris = members(n, 5000);
      const dir = proxyParseGroups(JSON.stringify({ groups: { g: uris } }));
      for (let k = 1; k <= 4; k++) {
        for (let i = 1; i <= k; i++) {
          expect(kamailioShard(uris, i, k)).toEqual(shardOf(dir.groups.get('g')!, i, k).map((m) => m.uri));
        }
      }
    }
    expect(() => kamailioShard([1], 3, 2)).toThrow(/i\/K/);
  });

  it('head table: a group to each fork node holding part of it, a member to its own fork node', () => {
    const groups = parseGroups(JSON.stringify({ groups: { g3: members(3, 6000), g1: [`sip:solo@${HOST}:6100`] } }));
    const { include, maxBranches } = renderHeadInclude(groups, ['127.0.0.1:7001', '127.0.0.1:7002']);
    expect(maxBranches).toBe(2);
    expect(include).toContain('case "g3":\n\t\t\t$ru = "sip:g3@127.0.0.1:7001";\n\t\t\tappend_branch("sip:g3@127.0.0.1:7002");');
    // g1 has one member: only fork node 1 holds part of it.
    expect(include).toContain('case "g1":\n\t\t\t$ru = "sip:g1@127.0.0.1:7001";\n\t\t\treturn(1);');
    expect(include).toContain('case "m2":\n\t\t\t$ru = "sip:m2@127.0.0.1:7002";');
    expect(include).toContain('case "m3":\n\t\t\t$ru = "sip:m3@127.0.0.1:7001";');
    expect([...shardGroups(groups, 2, 2).keys()]).toEqual(['g3']);
    expect(shardGroups(groups, 2, 2).get('g3')).toEqual([`sip:m2@${HOST}:6001`]);
  });

  it('the head and fork-node configs pass kamailio -c', async () => {
    const dir = await tempDir();
    const groupsFile = join(dir, 'groups.json');
    await writeFile(groupsFile, JSON.stringify({ groups: { g8: members(8, 24010) } }));
    const groups = parseGroups(await readFile(groupsFile, 'utf8'));
    const shardFiles = await writeShardFiles(groups, 2, dir);
    expect(JSON.parse(await readFile(shardFiles[1]!, 'utf8')).groups.g8).toEqual(members(8, 24010).filter((_m, j) => j % 2 === 1));
    const head = await writeKamailioConfig({ listen: `${HOST}:24000`, groupsFile, workDir: join(dir, 'head'), render: renderHeadInclude(groups, [`${HOST}:24001`, `${HOST}:24002`]) });
    await checkKamailioConfig(head);
    expect(await readFile(join(dir, 'head', 'params.cfg'), 'utf8')).toContain('FB_MAX_BRANCHES 12');
    const node = await writeKamailioConfig({ listen: `${HOST}:24001`, groupsFile: shardFiles[0]!, workDir: join(dir, 'fork-node-1') });
    await checkKamailioConfig(node);
  });

  it('N=8, K=2 with real SIPp: every call succeeds and each fork node rings its half', async () => {
    const dir = await tempDir();
    const groupsFile = join(dir, 'groups.json');
    const n = 8;
    await writeFile(groupsFile, JSON.stringify({ groups: { g8: members(n, 24010) } }));
    const kam = await startDistributedKamailio({ listen: `${HOST}:24000`, forkNodes: [`${HOST}:24001`, `${HOST}:24002`], groupsFile, workDir: join(dir, 'kam') });
    cleanups.push(() => kam.stop());
    expect(kam.forkNodes).toHaveLength(2);

    const here = new LocalHost({ name: 'local', kind: 'local', address: HOST, roles: [] });
    const calls = 30;
    const sipps: HostSipp[] = [];
    for (let j = 0; j < n; j++) {
      const m = await startSippOn(here, { role: j === 0 ? 'answerer' : 'ringer', address: HOST, localPort: 24010 + j, outDir: dir, name: `member-${j + 1}`, calls, ringMs: 20, timeoutS: 60, traceMessages: j < 2 });
      cleanups.push(() => m.stop());
      sipps.push(m);
    }
    await new Promise((r) => setTimeout(r, 300));
    const caller = await startSippOn(here, { role: 'caller', address: HOST, localPort: 24030, remote: `${HOST}:24000`, service: 'g8', rate: 10, calls, holdMs: 50, outDir: dir, name: 'caller', timeoutS: 60 });
    cleanups.push(() => caller.stop());
    expect(await caller.done).toBe(0);
    await caller.collect();
    const stat = await readSippStatFile(join(dir, 'caller_stat.csv'));
    expect(stat.totalCalls).toBe(calls);
    expect(stat.successfulCalls).toBe(calls);
    expect(stat.failedCalls).toBe(0);
    // Every member, on either fork node, saw every call (ringers are CANCELled, so they count it as done).
    for (const m of sipps) {
      expect(await m.done).toBe(0);
      await m.collect();
      expect((await readSippStatFile(join(dir, `${m.name}_stat.csv`))).totalCalls).toBe(calls);
    }
    // The path: member 1 (j=0) gets its INVITEs through the head and fork node 1, member 2 through fork node 2.
    const vias = async (name: string): Promise<string[]> => {
      const log = await readFile(join(dir, `${name}_messages.log`), 'utf8');
      const invite = log.slice(log.indexOf('INVITE sip:'));
      return invite.slice(0, invite.indexOf('\r\n\r\n')).split('\r\n').filter((l) => /^via:/i.test(l)).map((l) => /:(\d+);/.exec(l)?.[1] ?? l);
    };
    expect(await vias('member-1')).toEqual(['24001', '24000', '24030']);
    expect(await vias('member-2')).toEqual(['24002', '24000', '24030']);
    // Three Kamailio instances, each with its own worker processes.
    expect(new Set([kam.head.mainPid, ...kam.forkNodes.map((f) => f.mainPid)]).size).toBe(3);
    expect((await kam.head.pids()).length).toBeGreaterThan(2);
    await kam.stop();
    expect(await kam.head.pids()).toEqual([]);
  });
});
