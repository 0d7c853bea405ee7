import { AsyncLocalStorage } from 'node:async_hooks';

/** Time as a function invocation sees it: real in Lambda, virtual when a simulation drives it. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * What one function invocation runs with. In Lambda every field comes from the process (one function per process);
 * a local Step Functions engine runs many functions in one process and gives each invocation the environment and
 * services of the function it stands for. Services are looked up by name (`clients`, `limiter`, `probe`) so that
 * this module imports no SDK: the probe function inside the test VPC must bundle none.
 */
export interface Invocation {
  /** The function's name as the stack knows it (its construct path, e.g. `Publish/PrepareFunction`). */
  readonly functionName: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly clock: Clock;
  /** Milliseconds left before the function's timeout ends the invocation. */
  remainingMs(): number;
  readonly services: Readonly<Record<string, unknown>>;
}

const storage = new AsyncLocalStorage<Invocation>();

const processInvocation: Invocation = {
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'local',
  env: process.env,
  clock: realClock,
  remainingMs: () => Number.POSITIVE_INFINITY,
  services: {},
};

/** The invocation in progress, or the process itself (a Lambda container, the CLI, a test). */
export function currentInvocation(): Invocation {
  return storage.getStore() ?? processInvocation;
}

/** The invocation `runInvocation` started, or undefined outside one (a Lambda container, the CLI, test seeding). */
export function invocationInProgress(): Invocation | undefined {
  return storage.getStore();
}

/** Runs `body` as an invocation described by `invocation`. */
export function runInvocation<T>(invocation: Invocation, body: () => Promise<T>): Promise<T> {
  return storage.run(invocation, body);
}

/** The environment of the invocation in progress. */
export function invocationEnv(): Readonly<Record<string, string | undefined>> {
  return currentInvocation().env;
}

/** Time left: the Lambda context's when the handler got one, else the invocation's. */
export function remainingMs(context?: { getRemainingTimeInMillis(): number }): number {
  return context?.getRemainingTimeInMillis() ?? currentInvocation().remainingMs();
}

/** A service of the invocation in progress, or `fallback()` made once per process. */
export function invocationService<T>(name: string, fallback: () => T): T {
  const provided = currentInvocation().services[name];
  if (provided !== undefined) return provided as T;
  const cached = processServices.get(name);
  if (cached !== undefined) return cached as T;
  const made = fallback();
  processServices.set(name, made);
  return made;
}

const processServices = new Map<string, unknown>();
