import { connect, type Socket } from 'node:net';
import type { ProbeObservation } from '../../core/boot/result';

/** Where to probe: the instance's private address and the SSH port. */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
}

export interface WatchOptions {
  /** A new connection attempt starts this often (ec2-boot-bench's resolution); at most 50 ms in the boot test. */
  readonly intervalMs: number;
  /** Gives up after this long and reports a timeout, never hangs. */
  readonly timeoutMs: number;
}

/** A single look at the port: open (with the banner) or not, and why. */
export interface PortCheck {
  readonly open: boolean;
  readonly banner?: string;
  readonly reason: string;
}

/**
 * Watches a TCP port come up. Pluggable because the emulator's instances have no reachable address: tests inject a
 * probe backed by loopback listeners, the Lambda inside the VPC uses the TCP one.
 */
export interface PortProbe {
  watch(target: ProbeTarget, options: WatchOptions): Promise<ProbeObservation>;
  check(target: ProbeTarget, timeoutMs: number): Promise<PortCheck>;
}

export interface TcpProbeOptions {
  /** Epoch milliseconds; injectable so observations line up with the caller's clock. */
  readonly now?: () => number;
  /** How long one connection attempt may wait for an answer before it is dropped. */
  readonly attemptTimeoutMs?: number;
  /** How long to wait for sshd's banner after the connection was accepted. */
  readonly bannerTimeoutMs?: number;
  /** Attempts in flight at once; a host that drops packets would otherwise pile up sockets. */
  readonly maxInFlight?: number;
}

type AttemptResult =
  | { readonly kind: 'refused'; readonly at: number }
  | { readonly kind: 'open'; readonly at: number; readonly socket: Socket }
  | { readonly kind: 'silent' };

/**
 * Probes with real TCP connections, as ec2-boot-bench does: while the instance's network is down SYNs go unanswered;
 * the first RST ("refused") means the network stack is up; the first accepted connection means sshd listens. A new
 * attempt starts every `intervalMs` whether or not earlier ones have answered, so an unanswered SYN never delays the
 * next observation.
 */
export class TcpProbe implements PortProbe {
  private readonly now: () => number;
  private readonly attemptTimeoutMs: number;
  private readonly bannerTimeoutMs: number;
  private readonly maxInFlight: number;

  constructor(options: TcpProbeOptions = {}) {
    this.now = options.now ?? Date.now;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 1000;
    this.bannerTimeoutMs = options.bannerTimeoutMs ?? 5000;
    this.maxInFlight = options.maxInFlight ?? 64;
  }

  /** Polls until the port accepts (then reads the SSH banner) or `timeoutMs` passes. */
  watch(target: ProbeTarget, options: WatchOptions): Promise<ProbeObservation> {
    const startedAt = this.now();
    const deadline = startedAt + options.timeoutMs;
    const inFlight = new Set<Socket>();
    let attempts = 0;
    let lastSlot = -1;
    let closedAt: number | undefined;
    let done = false;
    let opened = false;
    let timer: NodeJS.Timeout | undefined;

    return new Promise<ProbeObservation>((resolve) => {
      const finish = (observation: ProbeObservation) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        for (const socket of inFlight) socket.destroy();
        inFlight.clear();
        resolve(observation);
      };
      const onOpen = async (at: number, socket: Socket) => {
        const banner = await readBanner(socket, this.bannerTimeoutMs);
        socket.destroy();
        const since = (t: number) => `${((t - startedAt) / 1000).toFixed(3)} s`;
        finish({
          outcome: 'open',
          startedAt,
          closedAt,
          openAt: at,
          banner,
          attempts,
          reason: `port ${target.port} ${closedAt === undefined ? '' : `refused at +${since(closedAt)}, `}accepted at +${since(at)}${banner ? ` (${banner})` : '; no SSH banner'}`,
        });
      };
      const tick = () => {
        if (done) return;
        if (this.now() >= deadline) {
          const seconds = formatSeconds(options.timeoutMs);
          finish({
            outcome: 'timeout',
            startedAt,
            closedAt,
            attempts,
            reason:
              closedAt === undefined
                ? `port ${target.port} never answered within ${seconds}`
                : `port ${target.port} refused at +${((closedAt - startedAt) / 1000).toFixed(3)} s but never accepted within ${seconds}`,
          });
          return;
        }
        // Timers may fire a little early or late: at most one attempt per grid slot, whatever they do.
        const slot = Math.floor((this.now() - startedAt) / options.intervalMs);
        if (slot > lastSlot && inFlight.size < this.maxInFlight) {
          lastSlot = slot;
          attempts++;
          void this.attempt(target, inFlight).then((result) => {
            if (done || opened) {
              if (result.kind === 'open') result.socket.destroy();
              return;
            }
            if (result.kind === 'refused') closedAt ??= result.at;
            if (result.kind === 'open') {
              // Polling stops at once; the banner read belongs to this connection only.
              opened = true;
              clearTimeout(timer);
              void onOpen(result.at, result.socket);
            }
          });
        }
        // Attempts are due on a fixed grid from the start, so one late timer does not push every later attempt back.
        if (!opened) {
          const elapsed = this.now() - startedAt;
          timer = setTimeout(tick, Math.max(1, (Math.max(lastSlot, slot) + 1) * options.intervalMs - elapsed));
        }
      };
      tick();
    });
  }

  /** One connection: open (banner read) or not within `timeoutMs`. */
  async check(target: ProbeTarget, timeoutMs: number): Promise<PortCheck> {
    const inFlight = new Set<Socket>();
    const result = await this.attempt(target, inFlight, timeoutMs);
    if (result.kind !== 'open')
      return { open: false, reason: `port ${target.port} ${result.kind === 'refused' ? 'refused' : 'did not answer'}` };
    const banner = await readBanner(result.socket, Math.min(this.bannerTimeoutMs, timeoutMs));
    result.socket.destroy();
    return { open: true, banner, reason: `port ${target.port} accepted${banner ? ` (${banner})` : ''}` };
  }

  private attempt(
    target: ProbeTarget,
    inFlight: Set<Socket>,
    timeoutMs = this.attemptTimeoutMs,
  ): Promise<AttemptResult> {
    return new Promise((resolve) => {
      const socket = connect({ host: target.host, port: target.port });
      inFlight.add(socket);
      let settled = false;
      const settle = (result: AttemptResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(giveUp);
        inFlight.delete(socket);
        socket.removeAllListeners('connect');
        if (result.kind !== 'open') socket.destroy();
        resolve(result);
      };
      const giveUp = setTimeout(() => settle({ kind: 'silent' }), timeoutMs);
      socket.once('connect', () => settle({ kind: 'open', at: this.now(), socket }));
      socket.on('error', (error: NodeJS.ErrnoException) => {
        settle(error.code === 'ECONNREFUSED' ? { kind: 'refused', at: this.now() } : { kind: 'silent' });
      });
      // A socket destroyed by a finished watch settles here, which also clears its timer.
      socket.once('close', () => settle({ kind: 'silent' }));
    });
  }
}

/** The first line sshd sends (`SSH-2.0-...`), or undefined when none arrives in time. */
function readBanner(socket: Socket, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let received = '';
    const finish = (value: string | undefined) => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve(value);
    };
    const timer = setTimeout(() => finish(received.trim() || undefined), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\n');
      if (end >= 0) finish(received.slice(0, end).replace(/\r$/, ''));
      else if (received.length > 255) finish(received.slice(0, 255));
    });
    socket.once('error', () => finish(received.trim() || undefined));
    socket.once('end', () => finish(received.trim() || undefined));
  });
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
