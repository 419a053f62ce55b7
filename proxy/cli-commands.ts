// `forkbench proxy` and `forkbench fork-node`: flag parsing only; the proxy lives in udp-proxy.ts.
import type { Command } from 'commander';
import { GroupsError } from './groups.js';
import { buildProxyConfig, OptionError, type ProxyCliOptions } from './proxy-options.js';
import type { ProxyRole } from './config.js';
import { startUdpProxy } from './udp-proxy.js';

function commonOptions(cmd: Command): Command {
  return cmd
    .option('--listen <host:port>', 'UDP address to listen on', '127.0.0.1:5060')
    .requiredOption('--groups <file>', 'groups.json: {"groups": {"g4": ["sip:m1@127.0.0.1:6001", ...]}}')
    .option('--parse <mode>', 'full | lazy (default: lazy for the distributed head, full elsewhere)')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://host:port/metrics')
    .option('--relay-180 <policy>', 'all | first: relay every 180 upstream, or only the first per call (a deviation from RFC 3261 16.7 step 5; 183 and 18x with a body are always relayed)')
    .option('--no-record-route', 'do not add Record-Route (ACK/BYE then bypass this proxy)')
    .option('--domain <names>', 'extra host[:port] names served as our own domain, comma-separated')
    .option('--t1 <ms>', 'RFC 3261 T1 (A, B, E, F, G, H, J, L, M derive from it)', '500')
    .option('--t4 <ms>', 'RFC 3261 T4 (Timers I and K)', '5000')
    .option('--timer-c <ms>', 'Timer C: ring time before the proxy cancels and answers 408', '180000')
    .option('--timer-d <ms>', 'Timer D: wait for response retransmissions after a failure', '32000')
    .option('--max-transactions <n>', 'transactions in progress before new requests get 503', '20000')
    .option('--max-table <n>', 'transaction-table entries, finished ones still on their timers included, before new requests get 503 (a memory bound)', '1000000')
    .option('--retry-after <s>', 'Retry-After of the overload 503', '5')
    .option('--route-key <secret>', 'key of the token in our Record-Route (random per process by default; give the head and its fork nodes the same one, or set FORKBENCH_ROUTE_KEY)');
}

async function run(role: ProxyRole, opts: ProxyCliOptions & { mode?: string; forkNodes?: string; shard?: string }): Promise<void> {
  let built: ReturnType<typeof buildProxyConfig>;
  try {
    built = buildProxyConfig(role, opts);
  } catch (e) {
    if (e instanceof OptionError || e instanceof GroupsError) {
      console.error(`forkbench: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  const { config, metrics, parseDefaulted } = built;
  let proxy;
  try {
    proxy = await startUdpProxy(config, metrics);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const fix = err.code === 'EADDRINUSE' ? ': the port is in use, pick another with --listen/--metrics' : '';
    console.error(`forkbench: cannot listen (${err.code ?? err.message})${fix}`);
    process.exit(2);
  }
  // Handlers before the start-up line: the line is the readiness signal, and a SIGINT sent right
  // after it must reach the handler, not the default action (seen once in CI: killed by SIGINT).
  const shutdown = (): void => {
    void proxy.close().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  const what =
    role === 'head'
      ? `distributed head, ${config.forkNodes.length} fork nodes (${config.forkNodes.map((n) => `${n.host}:${n.port}`).join(',')})`
      : role === 'fork-node'
        ? `fork node, shard ${config.shard!.index}/${config.shard!.count}`
        : 'centralized';
  console.log(
    `forkbench ${role === 'fork-node' ? 'fork-node' : 'proxy'}: ${what}, parse=${config.parse}${parseDefaulted ? ' (default)' : ''}, ` +
      `relay-180=${config.relay180}, listening on udp:${proxy.address.host}:${proxy.address.port}, ${config.groups.groups.size} groups` +
      (proxy.metricsAddress ? `, metrics http://${proxy.metricsAddress.host}:${proxy.metricsAddress.port}/metrics` : '') +
      `, pid ${process.pid}`,
  );
}

export function registerProxyCommands(program: Command): void {
  commonOptions(
    program
      .command('proxy')
      .description('run the reference SIP proxy (centralized forking, or the head of distributed forking)')
      .option('--mode <mode>', 'centralized | distributed', 'centralized')
      .option('--fork-nodes <list>', 'distributed: fork nodes host:port,host:port (node i gets shard i/K)'),
  ).action(async (opts: ProxyCliOptions & { mode: string; forkNodes?: string }) => {
    if (opts.mode !== 'centralized' && opts.mode !== 'distributed') {
      console.error(`forkbench: unknown mode "${opts.mode}": use --mode centralized or --mode distributed`);
      process.exit(2);
    }
    await run(opts.mode === 'distributed' ? 'head' : 'centralized', opts);
  });
  commonOptions(
    program
      .command('fork-node')
      .description('run a fork node: rings its shard of each group for the distributed head')
      .requiredOption('--shard <i/K>', 'which shard of every group this node rings, e.g. 1/2'),
  ).action(async (opts: ProxyCliOptions & { shard: string }) => run('fork-node', opts));
}
