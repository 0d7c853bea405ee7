import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The moto release the emulator tests are written against. */
export const MOTO_VERSION = '5.2.1';

const PROJECT_ROOT = join(__dirname, '..', '..');
const VENV_PYTHON = join(PROJECT_ROOT, '.venv', 'bin', 'python');

/** A running moto server on loopback. */
export interface MotoServer {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  /** Clears every service's state. */
  reset(): Promise<void>;
  /** Stored state as moto shows it at `/moto-api/data.json`. */
  data(): Promise<Record<string, Record<string, unknown>>>;
  /** Sends `/moto-api/config`, e.g. to make Step Functions execute definitions. */
  configure(settings: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export interface StartMotoOptions {
  /** Extra environment for the server, e.g. `INITIAL_NO_AUTH_ACTION_COUNT` to enforce IAM. */
  readonly env?: Record<string, string>;
  readonly port?: number;
  readonly startTimeoutMs?: number;
}

function motoVersionOf(python: string): string | undefined {
  try {
    return execFileSync(python, ['-c', 'import moto; print(moto.__version__)'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/**
 * Finds a python that has moto's server installed: the machine's python3 first, then a project-local virtualenv,
 * which is created (where PyPI is reachable) when neither has it.
 */
export function resolveMotoPython(): string {
  const resolved = process.env[RESOLVED_PYTHON_ENV];
  if (resolved) return resolved;
  const python = findMotoPython();
  // Every emulator a run starts, in this process or in the test workers it forks, uses the python found here.
  process.env[RESOLVED_PYTHON_ENV] = python;
  return python;
}

/** Set once the python with moto's server is found: asking each python for moto's version costs a second. */
const RESOLVED_PYTHON_ENV = 'AMI_PIPELINE_MOTO_PYTHON';

function findMotoPython(): string {
  const candidates = [process.env.AMI_PIPELINE_PYTHON, 'python3', existsSync(VENV_PYTHON) ? VENV_PYTHON : undefined];
  for (const python of candidates) {
    if (python && motoVersionOf(python) === MOTO_VERSION) return python;
  }
  const install = `python3 -m venv .venv && .venv/bin/pip install 'moto[server]==${MOTO_VERSION}'`;
  try {
    execFileSync('python3', ['-m', 'venv', join(PROJECT_ROOT, '.venv')], { stdio: 'ignore' });
    execFileSync(VENV_PYTHON, ['-m', 'pip', 'install', '--quiet', `moto[server]==${MOTO_VERSION}`], {
      stdio: 'ignore',
      timeout: 300_000,
    });
    if (motoVersionOf(VENV_PYTHON) === MOTO_VERSION) return VENV_PYTHON;
  } catch {
    // reported below with the exact command to run
  }
  throw new Error(
    `The AWS emulator moto ${MOTO_VERSION} is not installed and could not be installed automatically.\n` +
      `Run this in the project folder, then start the tests again:\n  ${install}\n` +
      `(or set AMI_PIPELINE_PYTHON to a python that has moto[server]==${MOTO_VERSION})`,
  );
}

/**
 * Starts moto's server so that it receives SIGTERM when the process that spawned it dies (Linux prctl), even when
 * that process is killed and cannot clean up: a crashed or killed test worker never leaves a server behind.
 */
const SERVER_BOOTSTRAP = [
  'import ctypes, ctypes.util, runpy, signal, sys',
  'try:',
  '    ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)',
  'except Exception:',
  '    pass',
  // moto looks its backends up by listing its package directory on every request, under the server's one lock: the
  // listing never changes while it runs, so it is read once. Request logging is off (stderr keeps the errors).
  'import logging, moto.backends',
  '_modules = tuple(moto.backends.list_of_moto_modules())',
  'moto.backends.list_of_moto_modules = lambda: _modules',
  'logging.getLogger("werkzeug").setLevel(logging.WARNING)',
  'sys.argv = ["moto.server"] + sys.argv[1:]',
  'runpy.run_module("moto.server", run_name="__main__")',
].join('\n');

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(endpoint: string, child: ChildProcess, timeoutMs: number, log: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto exited with code ${child.exitCode}:\n${log()}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto did not answer on ${endpoint} within ${timeoutMs} ms:\n${log()}`);
}

/** Starts `python -m moto.server` on a free loopback port and waits until it answers. */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const python = resolveMotoPython();
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(python, ['-c', SERVER_BOOTSTRAP, '-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, MOTO_EC2_LOAD_DEFAULT_AMIS: 'false', ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  try {
    await waitUntilUp(endpoint, child, options.startTimeoutMs ?? 30_000, () => stderr);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
  return serverAt(endpoint, child.pid ?? -1, stop);
}

/** Sends a request to one of moto's own endpoints (`/moto-api/...`). */
export async function postToMoto(endpoint: string, path: string, body?: string): Promise<void> {
  const response = await fetch(`${endpoint}${path}`, { method: 'POST', body });
  if (!response.ok) throw new Error(`moto ${path} answered HTTP ${response.status}`);
}

/** A server already running at `endpoint` (the test worker's, started by the jest global setup); `stop` is its own. */
export function serverAt(endpoint: string, pid = -1, stop: () => Promise<void> = async () => {}): MotoServer {
  return {
    endpoint,
    port: Number(new URL(endpoint).port),
    pid,
    reset: () => postToMoto(endpoint, '/moto-api/reset'),
    configure: (settings) => postToMoto(endpoint, '/moto-api/config', JSON.stringify(settings)),
    data: async () => (await (await fetch(`${endpoint}/moto-api/data.json`)).json()) as never,
    stop,
  };
}

/** Environment that points SDK v3 clients at the emulator with dummy credentials. */
export function emulatorEnvironment(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_SESSION_TOKEN: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}
