import { createServer, type Server } from 'node:net';
import { type PortProbe, type ProbeTarget, TcpProbe, type WatchOptions } from '../../lambdas/aws/boot/tcp-probe';

/** The banner a FreeBSD sshd sends. */
export const FREEBSD_SSH_BANNER = 'SSH-2.0-OpenSSH_9.9 FreeBSD-20250219';

/** How long after it is first probed a simulated host opens port 22; `undefined` keeps it closed. */
export type OpenAfter = (host: string) => number | undefined | Promise<number | undefined>;

/**
 * Stands in for booting instances on the emulator, whose instances have no reachable address: each probed host is
 * mapped to a loopback port that refuses connections at first and accepts (sending an SSH banner) `openAfter(host)`
 * milliseconds later. The real TCP probe does the measuring, so what is timed is real socket behaviour.
 */
export class SimulatedHosts implements PortProbe {
  private readonly ports = new Map<string, Promise<number>>();
  private readonly servers: Server[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly tcp = new TcpProbe({ attemptTimeoutMs: 500, bannerTimeoutMs: 500 });

  constructor(private readonly openAfter: OpenAfter = () => 120) {}

  async watch(target: ProbeTarget, options: WatchOptions) {
    return this.tcp.watch({ host: '127.0.0.1', port: await this.portFor(target.host) }, options);
  }

  async check(target: ProbeTarget, timeoutMs: number) {
    return this.tcp.check({ host: '127.0.0.1', port: await this.portFor(target.host) }, timeoutMs);
  }

  /** Closes every listener; call it when the test or demo ends. */
  close(): Promise<unknown> {
    for (const timer of this.timers) clearTimeout(timer);
    return Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }

  private portFor(host: string): Promise<number> {
    let port = this.ports.get(host);
    if (!port) {
      port = Promise.all([freeLoopbackPort(), this.openAfter(host)]).then(([free, delay]) => {
        if (delay !== undefined)
          this.timers.push(
            setTimeout(() => {
              const server = createServer((socket) => {
                socket.on('error', () => undefined);
                socket.end(`${FREEBSD_SSH_BANNER}\r\n`);
              }).listen(free, '127.0.0.1');
              this.servers.push(server);
            }, delay),
          );
        return free;
      });
      this.ports.set(host, port);
    }
    return port;
  }
}

// Below Linux's ephemeral range (32768-60999): the probe's own connections, hundreds a second, take their local
// ports from that range, and one of them could sit on a host's port before the host opens it. Each process starts
// at its own place in the range, so parallel test workers seldom meet.
const PRIVATE_PORTS = { first: 20_000, count: 12_000 } as const;
let nextPort = PRIVATE_PORTS.first + ((process.pid * 7919) % PRIVATE_PORTS.count);

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A loopback port nobody listens on: connecting to it is refused, as a booting host's closed port 22 is. */
async function freeLoopbackPort(): Promise<number> {
  for (;;) {
    const port = nextPort;
    nextPort = PRIVATE_PORTS.first + ((nextPort - PRIVATE_PORTS.first + 1) % PRIVATE_PORTS.count);
    if (await canListen(port)) return port;
  }
}
