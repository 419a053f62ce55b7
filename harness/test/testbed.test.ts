// The pure parts of running on hosts: each role's address for a point, groups.json with members at
// their hosts, the groups an external proxy loads, and the external target's flags. No sockets.
import { describe, expect, it } from 'vitest';
import { externalOptions, sweepGroups } from '../commands/external-commands.js';
import { layoutPoint } from '../plan/point-layout.js';
import { placedGroupsJson, pointAddresses } from '../testbed/hosts/testbed.js';
import { localTopology, netnsTopology, parseTopology, placeRoles } from '../testbed/hosts/topology.js';

describe('testbed', () => {
  it('addresses and groups.json of a point on the built-in netns layout', () => {
    const p = placeRoles(netnsTopology(2, '198.18.9'), { forkNodes: 2, proxy: 'required' });
    const a = pointAddresses(p, 3, 2);
    expect(a).toEqual({ caller: '198.18.9.2', proxy: '198.18.9.4', forkNodes: ['198.18.9.5', '198.18.9.6'], members: ['198.18.9.3', '198.18.9.3', '198.18.9.3'] });
    const layout = layoutPoint({ groupSize: 3, forkNodes: 2 }, 30000);
    expect(JSON.parse(placedGroupsJson(layout, a))).toEqual({ groups: { g3: ['sip:m1@198.18.9.3:30020', 'sip:m2@198.18.9.3:30021', 'sip:m3@198.18.9.3:30022'] } });
    // A centralized point uses no fork node.
    expect(pointAddresses(p, 1, 0).forkNodes).toEqual([]);
  });

  it('members spread over two hosts get their own hosts\' addresses', () => {
    const topo = parseTopology(
      JSON.stringify({
        hosts: [
          { name: 'a', kind: 'local', address: '10.0.0.1', roles: ['caller', 'proxy', 'members'] },
          { name: 'b', kind: 'ssh', ssh: 'b', address: '10.0.0.2', roles: ['members'] },
        ],
      }),
      't',
    );
    const p = placeRoles(topo, { forkNodes: 0, proxy: 'required' });
    expect(pointAddresses(p, 4, 0).members).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.1', '10.0.0.2']);
    // One groups.json for a whole external sweep: the same member on the same port in every group.
    const g = sweepGroups([2, 4], 20000, p);
    expect(g.g4!.slice(0, 2)).toEqual(g.g2);
    expect(g.g4).toEqual(['sip:m1@10.0.0.1:20020', 'sip:m2@10.0.0.2:20021', 'sip:m3@10.0.0.1:20022', 'sip:m4@10.0.0.2:20023']);
    expect(sweepGroups([2], 20000, placeRoles(localTopology(), { forkNodes: 0, proxy: 'optional' })).g2).toEqual(['sip:m1@127.0.0.1:20020', 'sip:m2@127.0.0.1:20021']);
  });

  it('external target flags', () => {
    expect(externalOptions(['forkbench'], {})).toBeUndefined();
    expect(() => externalOptions(['forkbench'], { proxy: '1.2.3.4:5060' })).toThrow(/are for --targets external: add it, or drop them/);
    expect(externalOptions(['external'], { proxy: '1.2.3.4:5060', targetPid: '77' })).toEqual({ proxy: '1.2.3.4:5060', targetPid: 77 });
    expect(externalOptions(['external'], { proxy: '1.2.3.4:5060', targetMetrics: 'http://1.2.3.4:9/metrics' })?.targetMetrics?.port).toBe('9');
    expect(() => externalOptions(['external'], { proxy: '1.2.3.4:5060', targetPid: '7', targetMetrics: 'http://x/' })).toThrow(/one CPU source/);
    expect(() => externalOptions(['external'], {})).toThrow(/--proxy "" is not IPv4:PORT/);
  });
});
