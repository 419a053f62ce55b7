// Runs a ProxyCore on a UDP socket, with the real-time timer wheel and the metrics endpoint.
import { createSocket, type Socket, type SocketOptions } from 'node:dgram';
import { lookup as dnsLookup, type LookupOptions } from 'node:dns';
import { isIPv4 } from 'node:net';
import type { Server } from 'node:http';
import type { HostPort, ProxyConfig } from './config.js';
import { ProxyMetrics, serveMetrics } from './metrics.js';
import { ProxyCore } from './proxy-core.js';
import { startRealWheel } from './timer-wheel.js';

export interface RunningProxy {
  core: ProxyCore;
  address: HostPort;
  metricsAddress?: HostPort;
  close(): Promise<void>;
}

export async function startUdpProxy(config: ProxyConfig, metrics?: HostPort): Promise<RunningProxy> {
  // Destinations are nearly always IP literals: answer those at once instead of through
  // dns.lookup, which defers every send by a tick; names still go to the resolver.
  const lookup = (address: string, options: LookupOptions, cb: (err: Error | null, address: string, family: number) => void): void => {
    if (isIPv4(address)) cb(null, address, 4);
    else dnsLookup(address, { ...options, family: 4 }, (err, addr, family) => cb(err, addr as string, family ?? 4));
  };
  const socket: Socket = createSocket({
    type: 'udp4',
    recvBufferSize: 8 << 20,
    sendBufferSize: 8 << 20,
    lookup: lookup as unknown as SocketOptions['lookup'],
  });
  const { wheel, stop } = startRealWheel(10);
  const core = new ProxyCore(config, wheel, (buf, to) => socket.send(buf, to.port, to.host));
  socket.on('message', (buf, rinfo) => core.onDatagram(buf, { host: rinfo.address, port: rinfo.port }));
  // Sending to a closed port on loopback raises ICMP errors on the socket: count them, never throw.
  socket.on('error', () => ProxyMetrics.bump(core.metrics.dropped, 'socket-error'));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(config.listen.port, config.listen.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  let http: Server | undefined;
  let metricsAddress: HostPort | undefined;
  if (metrics) {
    http = await serveMetrics(core.metrics, metrics.host, metrics.port);
    const a = http.address();
    metricsAddress = a && typeof a === 'object' ? { host: a.address, port: a.port } : metrics;
  }
  const a = socket.address();
  return {
    core,
    address: { host: a.address, port: a.port },
    metricsAddress,
    close: async () => {
      stop();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      if (http) await new Promise<void>((resolve) => http!.close(() => resolve()));
    },
  };
}
