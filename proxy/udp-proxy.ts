// Runs a ProxyCore on a UDP socket, with the real-time timer wheel and the metrics endpoint.
import { createSocket, type Socket } from 'node:dgram';
import type { Server } from 'node:http';
import type { HostPort, ProxyConfig } from './config.js';
import { serveMetrics } from './metrics.js';
import { ProxyCore } from './proxy-core.js';
import { startRealWheel } from './timer-wheel.js';

export interface RunningProxy {
  core: ProxyCore;
  address: HostPort;
  metricsAddress?: HostPort;
  close(): Promise<void>;
}

export async function startUdpProxy(config: ProxyConfig, metrics?: HostPort): Promise<RunningProxy> {
  const socket: Socket = createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
  const { wheel, stop } = startRealWheel(10);
  const core = new ProxyCore(config, wheel, (buf, to) => socket.send(buf, to.port, to.host));
  socket.on('message', (buf, rinfo) => core.onDatagram(buf, { host: rinfo.address, port: rinfo.port }));
  // Sending to a closed port on loopback raises ICMP errors on the socket: count them, never throw.
  socket.on('error', () => undefined);
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
