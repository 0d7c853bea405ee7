import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { TcpProbe } from '../../lambdas/aws/boot/tcp-probe';
import { resolveMotoPython } from '../support/moto-server';

const BANNER = 'SSH-2.0-OpenSSH_9.9 FreeBSD-20250219';
const TOLERANCE_MS = 100;

// A listener whose accept queue is full drops SYNs without answering, which is what a port looks like from outside
// while the instance's network is still down. Node accepts every connection itself, so a small Python process
// holds such a socket.
const SILENT_LISTENER = `
import socket, sys, time
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(0)
fill = []
for _ in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(s.getsockname())
    except BlockingIOError: pass
    fill.append(c)
print(s.getsockname()[1], flush=True)
sys.stdin.readline()
s.close()
print(int(time.time() * 1000), flush=True)
sys.stdin.read()
`;

interface SilentPort {
  readonly port: number;
  readonly child: ChildProcess;
}

function silentPort(): Promise<SilentPort> {
  const child = spawn(resolveMotoPython(), ['-c', SILENT_LISTENER], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve({ port: Number(chunk.toString().trim()), child }));
    child.once('error', reject);
  });
}

function closeSilent(silent: SilentPort): Promise<void> {
  return new Promise((resolve) => {
    if (silent.child.exitCode !== null || silent.child.signalCode !== null) return resolve();
    silent.child.once('exit', () => resolve());
    silent.child.kill('SIGKILL');
  });
}

/** Closes the silent listener's socket; resolves with the wall-clock time the port started refusing. */
function startRefusing(silent: SilentPort): Promise<number> {
  return new Promise((resolve) => {
    silent.child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    silent.child.stdin!.write('close\n');
  });
}

function sshListener(port: number): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end(`${BANNER}\r\n`);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const servers: Server[] = [];
const silents: SilentPort[] = [];

afterEach(async () => {
  await Promise.all(silents.splice(0).map(closeSilent));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('TCP port probe against loopback listeners', () => {
  test('measures when the port first refuses and first accepts within 100 ms of the truth, and reads the banner', async () => {
    const silent = await silentPort();
    silents.push(silent);
    const probe = new TcpProbe({ attemptTimeoutMs: 2000 });

    const watching = probe.watch({ host: '127.0.0.1', port: silent.port }, { intervalMs: 50, timeoutMs: 10_000 });
    const start = Date.now();
    await sleep(400);
    // The listener process reports when its socket closed, so the truth does not depend on process scheduling.
    const refusingFrom = await startRefusing(silent);
    await sleep(600 - (Date.now() - refusingFrom));
    const server = await sshListener(silent.port);
    const acceptingFrom = Date.now();
    servers.push(server);
    const observation = await watching;

    expect(observation.outcome).toBe('open');
    expect(observation.banner).toBe(BANNER);
    expect(Math.abs(observation.startedAt - start)).toBeLessThan(TOLERANCE_MS);
    expect(Math.abs(observation.closedAt! - refusingFrom)).toBeLessThan(TOLERANCE_MS);
    expect(Math.abs(observation.openAt! - acceptingFrom)).toBeLessThan(TOLERANCE_MS);
    // Attempts follow a 50 ms grid: never more than the grid allows, and a reasonable share of it.
    expect(observation.attempts).toBeGreaterThanOrEqual(10);
    // One attempt at the start and one that is accepted, plus a little timer jitter on a busy machine.
    expect(observation.attempts).toBeLessThanOrEqual(Math.ceil((observation.openAt! - start) / 50) + 4);
    expect(observation.reason).toMatch(/^port \d+ refused at \+\d\.\d{3} s, accepted at \+\d\.\d{3} s \(SSH-2\.0-/);
  });

  test('a port that refuses from the start and opens later: closed at once, open at the known offset', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = s.address() as { port: number };
        s.close(() => resolve(p));
      });
    });
    const probe = new TcpProbe();
    const start = Date.now();
    const watching = probe.watch({ host: '127.0.0.1', port }, { intervalMs: 20, timeoutMs: 5000 });
    await sleep(300);
    servers.push(await sshListener(port));
    const acceptingFrom = Date.now();

    const observation = await watching;

    expect(observation.closedAt! - start).toBeLessThan(TOLERANCE_MS);
    expect(Math.abs(observation.openAt! - acceptingFrom)).toBeLessThan(TOLERANCE_MS);
  });

  test('a host that never answers gives a timeout result, not a hang', async () => {
    const silent = await silentPort();
    silents.push(silent);
    const probe = new TcpProbe({ attemptTimeoutMs: 5000 });
    const start = Date.now();

    const observation = await probe.watch({ host: '127.0.0.1', port: silent.port }, { intervalMs: 50, timeoutMs: 500 });

    expect(observation.outcome).toBe('timeout');
    expect(observation.closedAt).toBeUndefined();
    expect(observation.openAt).toBeUndefined();
    expect(observation.reason).toBe(`port ${silent.port} never answered within 0.5 s`);
    // Ended by the watch's own deadline, not by the 5-second attempt timeout it would hang on.
    expect(Date.now() - start).toBeLessThan(5000);
  });

  test('a port that refuses but never accepts times out with the refusal recorded', async () => {
    const silent = await silentPort();
    await closeSilent(silent);
    const probe = new TcpProbe();

    const observation = await probe.watch({ host: '127.0.0.1', port: silent.port }, { intervalMs: 50, timeoutMs: 300 });

    expect(observation.outcome).toBe('timeout');
    expect(observation.closedAt).toBeDefined();
    expect(observation.reason).toMatch(/refused at \+0\.0\d\d s but never accepted within 0.3 s/);
  });

  test('a single check reports an open port with its banner and a silent one as not answering', async () => {
    const server = await sshListener(0);
    servers.push(server);
    const silent = await silentPort();
    silents.push(silent);
    const probe = new TcpProbe();
    const { port } = server.address() as { port: number };

    expect(await probe.check({ host: '127.0.0.1', port }, 1000)).toEqual({
      open: true,
      banner: BANNER,
      reason: `port ${port} accepted (${BANNER})`,
    });
    expect(await probe.check({ host: '127.0.0.1', port: silent.port }, 200)).toMatchObject({ open: false });
  });
});
