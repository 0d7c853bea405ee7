import { type AwsSim, type AwsSimOptions, createAwsSim } from '../../../scripts/aws-sim';
import { runInVirtualTime } from '../../../scripts/aws-sim/virtual-time';
import type { ClientFactory } from '../../../lambdas/aws/clients';

/** The moment every simulated scenario of these tests starts. */
export const START = new Date('2026-03-07T06:00:00Z');

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** A simulated account and a client factory talking to it. */
export function simulated(
  options: AwsSimOptions = {},
  factory: { maxAttempts?: number } = {},
): {
  sim: AwsSim;
  clients: ClientFactory;
} {
  const sim = createAwsSim(options);
  return { sim, clients: sim.clientFactory(factory) };
}

/** Runs `body` in virtual time from {@link START}, with the SDK's retry jitter seeded. */
export async function virtually<T>(body: () => Promise<T>): Promise<T> {
  return (await runInVirtualTime(body, { start: START, seedMathRandom: 1 })).result;
}

/** The error `promise` rejects with (failing the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Settles every promise, then splits outcomes into values and error names. */
export async function outcomes<T>(promises: Promise<T>[]): Promise<{ ok: T[]; errors: string[] }> {
  const settled = await Promise.allSettled(promises);
  return {
    ok: settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])),
    errors: settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as Error).name] : [])),
  };
}

/** A FreeBSD snapshot build name. */
export function buildName(arch: 'amd64' | 'arm64', date = '20260305', series = '15.0-CURRENT'): string {
  return `FreeBSD ${series}-${arch}-${date} base UFS`;
}
