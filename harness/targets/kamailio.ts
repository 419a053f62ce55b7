// Kamailio as the proxy under test (centralized): its main process and forked workers are sampled
// as one tree; it exposes no counters forkbench can read.
import { resolve } from 'node:path';
import { startKamailio } from '../kamailio.js';
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
