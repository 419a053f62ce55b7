// Kamailio as the proxy under test (centralized): its main process and forked workers are sampled
// as one tree; it exposes no counters forkbench can read.
import { resolve } from 'node:path';
import { startKamailio } from './kamailio-launcher.js';
import { startDistributedKamailio } from './kamailio-distributed.js';
import type { ProxyTarget } from './target.js';

export const kamailioCentralized: ProxyTarget = {
  name: 'kamailio',
  async start(s) {
    // Absolute paths: Kamailio runs with its work dir as cwd.
    const k = await startKamailio({ listen: `127.0.0.1:${s.layout.proxyPort}`, groupsFile: resolve(s.groupsFile), workDir: resolve(s.workDir, 'kamailio') });
    return {
      sipAddress: `127.0.0.1:${s.layout.proxyPort}`,
      processes: [{ role: 'central', name: 'kamailio', pid: k.mainPid, tree: true }],
      readCounters: async () => undefined,
      stop: () => k.stop().catch(() => undefined),
    };
  },
};

/** Kamailio in the distributed design: a Kamailio head and K Kamailio fork nodes (kamailio-distributed.ts). */
export const kamailioDistributed: ProxyTarget = {
  name: 'kamailio distributed',
  async start(s) {
    const { layout } = s;
    const k = await startDistributedKamailio({
      listen: `127.0.0.1:${layout.proxyPort}`,
      forkNodes: layout.forkNodePorts.map((p) => `127.0.0.1:${p}`),
      groupsFile: resolve(s.groupsFile),
      workDir: resolve(s.workDir, 'kamailio'),
    });
    return {
      sipAddress: `127.0.0.1:${layout.proxyPort}`,
      processes: [
        { role: 'central', name: 'kamailio head', pid: k.head.mainPid, tree: true },
        ...k.forkNodes.map((f, i) => ({ role: 'fork-node' as const, name: `kamailio fork node ${i + 1}`, pid: f.mainPid, tree: true })),
      ],
      readCounters: async () => undefined,
      stop: () => k.stop(),
    };
  },
};
