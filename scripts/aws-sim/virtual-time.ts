import { withGlobal } from '@sinonjs/fake-timers';
import type { Clock } from '../../lambdas/shared/invocation';
import { hashString, Random } from './random';

/** Base class of the virtual-time driver's errors. */
export class VirtualTimeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The body still waits for something, but nothing is scheduled that could ever wake it. */
export class DeadlockError extends VirtualTimeError {
  constructor(
    readonly virtualNow: number,
    readonly steps: number,
  ) {
    super(
      `deadlock at ${new Date(virtualNow).toISOString()} after ${steps} timer(s): the run still waits, but no timer ` +
        'is scheduled and no real I/O is in flight',
    );
  }
}

/** The run went past its virtual-time or step budget, e.g. an interval that never stops. */
export class VirtualTimeLimitError extends VirtualTimeError {}

export interface VirtualTimeOptions {
  /** Virtual time at which the run starts. */
  readonly start?: Date | number;
  /** Aborts the run once virtual time has advanced this far (default: 60 days). */
  readonly maxVirtualMs?: number;
  /** Aborts the run after this many timers have fired (default: 50 million). */
  readonly maxSteps?: number;
  /**
   * How long, in real milliseconds, to wait for real I/O (a file read, a socket) to complete before a run that has
   * nothing scheduled is declared deadlocked (default: 200).
   */
  readonly realIoGraceMs?: number;
  /**
   * Replaces `Math.random` during the run with a stream seeded by this value, so that the SDK's retry jitter (and
   * anything else drawing from it) is reproducible.
   */
  readonly seedMathRandom?: number | string;
}

/** What the body of a run sees of virtual time. */
export interface VirtualRun extends Clock {
  /** Virtual milliseconds since the run started. */
  elapsedMs(): number;
  /** Timers fired so far. */
  steps(): number;
}

/** Statistics of a finished run. */
export interface VirtualRunReport<T> {
  readonly result: T;
  readonly virtualMs: number;
  readonly realMs: number;
  readonly steps: number;
}

/** Time as seen through the current globals: real outside a virtual run, virtual inside one. */
export const virtualClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const FAKED = [
  'Date',
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'setImmediate',
  'clearImmediate',
] as const;

// Requests in flight in libuv (file system, DNS, connects, writes): while any is pending beyond what was pending when
// the run started, real work is still going on and virtual time must not jump.
const REAL_REQUEST = /Req|ConnectWrap|ShutdownWrap|WriteWrap/;

let running = false;
let realWorkInFlight = 0;

/**
 * Waits for `work` done outside this process's timers (a request to another process, which holds no libuv request
 * while it waits for the answer), so that a virtual-time run waits for it rather than declaring a deadlock.
 */
export async function awaitRealWork<T>(work: Promise<T>): Promise<T> {
  realWorkInFlight++;
  try {
    return await work;
  } finally {
    realWorkInFlight--;
  }
}

/**
 * Runs `body` in virtual time: timers and `Date` are faked for its duration, and whenever the process has nothing
 * left to do but wait for a timer, the clock jumps to the next timer and fires it (a discrete-event simulation).
 * Ten hours of polling run in milliseconds of wall time. Works inside jest test files (jest's own timers are not
 * touched) and with the SDK's retry backoff and adaptive rate limiter, which read `Date` and `setTimeout` at call
 * time. Real I/O started by the body is waited for (in real time) before time moves on. A body that waits for
 * something no timer will ever bring fails with {@link DeadlockError}.
 */
export async function runInVirtualTime<T>(
  body: (run: VirtualRun) => Promise<T>,
  options: VirtualTimeOptions = {},
): Promise<VirtualRunReport<T>> {
  if (running) throw new VirtualTimeError('a virtual-time run is already in progress; runs cannot be nested');
  running = true;
  // Captured before the fakes go in: the driver itself must yield to the real event loop.
  const realSetImmediate = globalThis.setImmediate;
  const realSetTimeout = globalThis.setTimeout;
  const realNow = Date.now;
  const realRandom = Math.random;
  const startedReal = realNow();
  const start = options.start === undefined ? startedReal : new Date(options.start).getTime();
  const maxVirtualMs = options.maxVirtualMs ?? 60 * 24 * 3600 * 1000;
  const maxSteps = options.maxSteps ?? 50_000_000;
  const graceMs = options.realIoGraceMs ?? 200;
  const baseline = realRequests();
  let clock: ReturnType<ReturnType<typeof withGlobal>['install']> | undefined;
  let steps = 0;
  try {
    clock = withGlobal(globalThis).install({
      now: start,
      toFake: [...FAKED],
      loopLimit: Number.MAX_SAFE_INTEGER,
      shouldClearNativeTimers: true,
    });
    roundDelaysAsNodeDoes();
    if (options.seedMathRandom !== undefined) {
      const seeded = new Random(
        typeof options.seedMathRandom === 'number' ? options.seedMathRandom : hashString(options.seedMathRandom),
      );
      Math.random = () => seeded.next();
    }
    const installed = clock;
    const run: VirtualRun = {
      now: () => installed.now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      elapsedMs: () => installed.now - start,
      steps: () => steps,
    };
    let settled = false;
    let value: T | undefined;
    let failure: { error: unknown } | undefined;
    Promise.resolve()
      .then(() => body(run))
      .then(
        (result) => {
          settled = true;
          value = result;
        },
        (error: unknown) => {
          settled = true;
          failure = { error };
        },
      );
    const turn = () => new Promise<void>((resolve) => realSetImmediate(resolve));
    const ioPending = () => realWorkInFlight > 0 || realRequests() > baseline;
    for (;;) {
      await turn();
      if (settled) break;
      if (ioPending()) {
        await waitForRealIo(turn, ioPending, () => settled, realSetTimeout, realNow, graceMs * 50);
        continue;
      }
      if (installed.countTimers() === 0) {
        // Something real (a socket, a child process) may still wake the body: give it a moment of real time.
        const deadline = realNow() + graceMs;
        while (!settled && installed.countTimers() === 0 && realNow() < deadline) {
          await new Promise<void>((resolve) => realSetTimeout(resolve, 5));
        }
        if (settled) break;
        if (installed.countTimers() === 0) throw new DeadlockError(installed.now, steps);
        continue;
      }
      // A far jump is taken only after a few idle turns in a row: a chain of real I/O (a file read is several
      // requests, one after another) can leave a turn with none in flight while its next step is still to come.
      if (nextTimerIn(installed) > FAR_JUMP_MS && !(await idleFor(IDLE_TURNS_BEFORE_FAR_JUMP, turn, ioPending)))
        continue;
      installed.next();
      steps++;
      if (installed.now - start > maxVirtualMs)
        throw new VirtualTimeLimitError(`the run passed its virtual-time budget of ${maxVirtualMs} ms`);
      if (steps > maxSteps) throw new VirtualTimeLimitError(`the run passed its budget of ${maxSteps} timers`);
    }
    if (failure) throw failure.error;
    return { result: value as T, virtualMs: installed.now - start, realMs: realNow() - startedReal, steps };
  } finally {
    clock?.uninstall();
    Math.random = realRandom;
    running = false;
  }
}

/**
 * Node runs a timer of less than 1 ms after 1 ms, while the fake clock would run it at once; the SDK's adaptive rate
 * limiter sleeps fractions of a millisecond until its bucket refills, which would then spin forever at one instant.
 * Delays are rounded up to whole milliseconds, at least 1 (a timer never fires before its time).
 */
function roundDelaysAsNodeDoes(): void {
  const g = globalThis as unknown as Record<'setTimeout' | 'setInterval', (...args: unknown[]) => unknown>;
  for (const name of ['setTimeout', 'setInterval'] as const) {
    const fake = g[name];
    g[name] = (callback: unknown, delay?: unknown, ...args: unknown[]) => {
      const ms = Number(delay);
      return fake(callback, Number.isFinite(ms) && ms >= 1 ? Math.ceil(ms) : 1, ...args);
    };
  }
}

/** Whether a virtual-time run is in progress. */
export function inVirtualTime(): boolean {
  return running;
}

async function waitForRealIo(
  turn: () => Promise<void>,
  pending: () => boolean,
  settled: () => boolean,
  realSetTimeout: typeof setTimeout,
  realNow: () => number,
  limitMs: number,
): Promise<void> {
  const until = realNow() + limitMs;
  let spins = 0;
  while (pending() && !settled() && realNow() < until) {
    // A few event-loop turns first (most I/O completes within them), then short real sleeps.
    if (spins++ < 20) await turn();
    else await new Promise<void>((resolve) => realSetTimeout(resolve, 1));
  }
}

/** A jump of virtual time longer than this waits for {@link IDLE_TURNS_BEFORE_FAR_JUMP} idle turns first. */
const FAR_JUMP_MS = 1000;
const IDLE_TURNS_BEFORE_FAR_JUMP = 5;

/** Virtual milliseconds until the earliest timer of a fake clock (its heap's top, read without running it). */
function nextTimerIn(clock: { now: number }): number {
  const heap = (clock as unknown as { timerHeap?: { peek(): { callAt: number } | undefined } }).timerHeap;
  const first = heap?.peek();
  return first ? first.callAt - clock.now : Number.POSITIVE_INFINITY;
}

/** Whether `turns` real event-loop turns pass with no real I/O in flight. */
async function idleFor(turns: number, turn: () => Promise<void>, ioPending: () => boolean): Promise<boolean> {
  for (let i = 0; i < turns; i++) {
    await turn();
    if (ioPending()) return false;
  }
  return true;
}

function realRequests(): number {
  let count = 0;
  for (const resource of process.getActiveResourcesInfo()) if (REAL_REQUEST.test(resource)) count++;
  return count;
}
