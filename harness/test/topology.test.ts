// Topology files: parsing, placement of roles, and the one-line messages for bad input. Pure (no
// sockets), except the preflight cases, which only run `ip -V` and an ssh to a closed port.
import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describePlacement, inBenchNet, localTopology, memberHost, netnsTopology, parseTopology, placeRoles, TopologyError, type TopologyNeeds } from '../testbed/hosts/topology.js';
import { loadTopology, preflightTopology } from '../testbed/hosts/topology-preflight.js';

const lab3 = {
  hosts: [
    { name: 'sut', kind: 'ssh', ssh: 'bench@10.0.0.1', address: '10.0.0.1', roles: ['proxy', 'fork-nodes'] },
    { name: 'gen1', kind: 'ssh', ssh: 'bench@10.0.0.2', address: '10.0.0.2', roles: ['caller', 'members'] },
    { name: 'gen2', kind: 'ssh', ssh: 'bench@10.0.0.3', address: '10.0.0.3', sshPort: 2222, identity: '/root/.ssh/id_ed25519', roles: ['members'] },
  ],
};
const needs: TopologyNeeds = { forkNodes: 2, proxy: 'required' };

function err(doc: unknown, n: TopologyNeeds = needs): string {
  try {
    placeRoles(parseTopology(JSON.stringify(doc), 'topo.json'), n);
  } catch (e) {
    expect(e).toBeInstanceOf(TopologyError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('no error');
}

describe('topology', () => {
  it('places a three-host lab: members spread round robin, fork nodes spread', () => {
    const p = placeRoles(parseTopology(JSON.stringify(lab3), 'topo.json'), needs);
    expect(p.caller.name).toBe('gen1');
    expect(p.proxy?.name).toBe('sut');
    expect([0, 1, 2, 3].map((j) => memberHost(p, j).name)).toEqual(['gen1', 'gen2', 'gen1', 'gen2']);
    expect(p.forkNodes.map((h) => h.name)).toEqual(['sut', 'sut']);
    const d = describePlacement(p, 3);
    expect(d['member-2']).toBe('gen2 (ssh 10.0.0.3)');
    expect(d['fork-node-2']).toBe('sut (ssh 10.0.0.1)');
    expect(Object.keys(d)).toEqual(['caller', 'proxy', 'member-1', 'member-2', 'member-3', 'fork-node-1', 'fork-node-2']);
  });

  it('explicit fork-node-<i> roles', () => {
    const doc = {
      hosts: [
        { name: 'a', kind: 'local', roles: ['caller', 'members', 'proxy'] },
        { name: 'f1', kind: 'netns', address: '198.18.0.5', roles: ['fork-node-1'] },
        { name: 'f2', kind: 'netns', address: '198.18.0.6', roles: ['fork-node-2'] },
      ],
    };
    const p = placeRoles(parseTopology(JSON.stringify(doc), 't'), needs);
    expect(p.forkNodes.map((h) => h.address)).toEqual(['198.18.0.5', '198.18.0.6']);
    expect(p.caller.address).toBe('127.0.0.1');
  });

  it('built-in layouts', () => {
    const l = placeRoles(localTopology(), needs);
    expect(l.caller.kind).toBe('local');
    expect(l.forkNodes).toHaveLength(2);
    const n = netnsTopology(3, '198.18.7');
    expect(n.hosts.map((h) => `${h.name}=${h.address}`)).toEqual(['caller=198.18.7.2', 'members=198.18.7.3', 'proxy=198.18.7.4', 'fork1=198.18.7.5', 'fork2=198.18.7.6', 'fork3=198.18.7.7']);
    const p = placeRoles(n, { forkNodes: 3, proxy: 'required' });
    expect(new Set([p.caller, p.proxy, memberHost(p, 0), ...p.forkNodes].map((h) => h!.name)).size).toBe(6);
    expect(() => netnsTopology(1, '10.0.0')).toThrow(/outside 198.18.0.0\/15/);
  });

  it('198.18.0.0/15 bounds', () => {
    expect(inBenchNet('198.18.0.1')).toBe(true);
    expect(inBenchNet('198.19.255.254')).toBe(true);
    expect(inBenchNet('198.18.0.0')).toBe(false);
    expect(inBenchNet('198.19.255.255')).toBe(false);
    expect(inBenchNet('198.20.0.1')).toBe(false);
    expect(inBenchNet('198.17.255.1')).toBe(false);
    expect(inBenchNet('198.18.0.256')).toBe(false);
  });

  it('bad input: one line naming the problem and the fix', () => {
    const cases: [unknown, RegExp, TopologyNeeds?][] = [
      [{ hosts: [{ name: 'a', kind: 'docker', roles: ['caller'] }] }, /host a has unknown kind "docker": use one of local, netns, ssh/],
      [{}, /no "hosts" array/],
      [{ hosts: [{ name: 'a', kind: 'local', roles: ['caller', 'members', 'proxy'] }, { name: 'b', kind: 'local', roles: ['caller'] }] }, /role caller is placed twice \(on a and b\): keep it on one host/],
      [{ hosts: [{ name: 'a', kind: 'local', roles: ['members', 'proxy', 'fork-nodes'] }] }, /role caller is placed nowhere: add "caller" to the roles of one host/],
      [{ hosts: [{ name: 'a', kind: 'local', roles: ['caller', 'members', 'fork-nodes'] }] }, /role proxy is placed nowhere/],
      [{ hosts: [{ name: 'a', kind: 'local', roles: ['caller', 'proxy'] }] }, /role members is placed nowhere/],
      [{ hosts: [{ name: 'a', kind: 'local', roles: ['caller', 'members', 'proxy', 'fork-node-1'] }] }, /role fork-node-2 is placed nowhere \(the run uses 2 fork nodes\)/],
      [{ hosts: [{ name: 'a', kind: 'local', roles: ['caller', 'members', 'proxy', 'fork-node-1', 'fork-node-2', 'fork-node-3'] }] }, /fork-node-3 is placed but the run uses 2/],
      [{ hosts: [{ name: 'a', kind: 'local', roles: ['caller', 'members', 'proxy', 'fork-node-1', 'fork-node-2'] }, { name: 'b', kind: 'local', roles: ['fork-node-1'] }] }, /fork-node-1 is placed twice \(on a and b\)/],
      [{ hosts: [{ name: 'a', kind: 'local', roles: ['caller', 'members', 'proxy', 'fork-nodes', 'fork-node-1'] }] }, /both with "fork-nodes"/],
      [{ hosts: [{ name: 'a', kind: 'netns', address: '10.1.2.3', roles: ['caller'] }] }, /netns host a address 10.1.2.3 is outside 198.18.0.0\/15: use an address from 198.18.0.1 to 198.19.255.254/],
      [{ hosts: [{ name: 'a', kind: 'netns', roles: ['caller'] }] }, /netns host a has no "address"/],
      [{ hosts: [{ name: 'a', kind: 'ssh', address: '10.0.0.1', roles: ['caller'] }] }, /ssh host a needs "ssh": "user@host"/],
      [{ hosts: [{ name: 'a', kind: 'ssh', ssh: '-oProxyCommand=x', address: '10.0.0.1', roles: [] }] }, /needs "ssh"/],
      [{ hosts: [{ name: 'a', kind: 'ssh', ssh: 'h', address: '10.0.0.1', sshPort: 0, roles: [] }] }, /sshPort must be 1-65535/],
      [{ hosts: [{ name: 'a', kind: 'local', roles: ['dj'] }] }, /unknown role "dj": use caller, members, proxy, fork-nodes or fork-node-<i>/],
      [{ hosts: [{ name: 'a', kind: 'local', rolez: ['caller'] }] }, /unknown key "rolez"/],
      [{ hosts: [{ name: 'a', kind: 'local', roles: ['caller', 'members', 'proxy', 'fork-nodes'] }, { name: 'a', kind: 'local', roles: [] }] }, /two hosts are named a/],
      [{ hosts: [{ name: 'a', kind: 'netns', address: '198.18.0.2', roles: ['caller', 'members', 'proxy', 'fork-nodes'] }, { name: 'b', kind: 'netns', address: '198.18.0.2', roles: [] }] }, /hosts a and b both have address 198.18.0.2/],
      [{ hosts: [{ name: '1a', kind: 'local', roles: [] }] }, /needs a "name"/],
    ];
    for (const [doc, re, n] of cases) expect(err(doc, n)).toMatch(re);
  });

  it('the external target needs no proxy; a placed proxy names where --target-pid runs', () => {
    const doc = { hosts: [{ name: 'a', kind: 'local', roles: ['caller', 'members'] }] };
    expect(placeRoles(parseTopology(JSON.stringify(doc), 't'), { forkNodes: 0, proxy: 'optional' }).proxy).toBeUndefined();
    expect(err(doc, { forkNodes: 0, proxy: 'required' })).toMatch(/role proxy is placed nowhere/);
  });

  it('not JSON, missing file', async () => {
    expect(() => parseTopology('{', 'topo.json')).toThrow(/topo.json is not JSON/);
    await expect(loadTopology('/nonexistent/topo.json', needs)).rejects.toThrow(/cannot read topology file \/nonexistent\/topo.json \(ENOENT\): give --topology local, netns or an existing JSON file/);
  });

  it('loads a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fb-topo-'));
    try {
      await writeFile(join(dir, 'topo.json'), JSON.stringify(lab3));
      const { placement } = await loadTopology(join(dir, 'topo.json'), needs);
      expect(placement.memberHosts.map((h) => h.name)).toEqual(['gen1', 'gen2']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('preflight: netns without root, and an unreachable ssh host', async () => {
    await expect(preflightTopology(netnsTopology(0), { uid: () => 1000 })).rejects.toThrow(/netns hosts need root .*: run forkbench as root \(sudo\) or use --topology local/);
    const unreachable = parseTopology(JSON.stringify({ hosts: [{ name: 'gone', kind: 'ssh', ssh: 'nobody@127.0.0.1', sshPort: 9, address: '127.0.0.1', roles: [] }] }), 't');
    await expect(preflightTopology(unreachable)).rejects.toThrow(/ssh host gone \(nobody@127.0.0.1\) is unreachable \(.+\): check that "ssh -o BatchMode=yes nobody@127.0.0.1 true" works with a key/);
  });
});
