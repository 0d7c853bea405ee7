import { createHash } from 'node:crypto';

/** Where one (source image, region) copy stands. */
export interface CopyProgress {
  readonly source: string;
  readonly name: string;
  readonly imageId?: string;
  /** Copy attempts started so far (a failed copy is deregistered and started again, up to a bound). */
  readonly attempt: number;
  readonly state: 'queued' | 'copying' | 'available' | 'failed';
  readonly error?: string;
}

/** What the executor does next in a region, decided from one DescribeImages answer. */
export interface CopyStep {
  readonly copies: CopyProgress[];
  /** Failed copies to deregister before they are started again (or given up). */
  readonly deregister: string[];
  /** Sources whose copy starts now. */
  readonly start: string[];
  /** Whether another poll is needed. */
  readonly pending: boolean;
}

/**
 * Idempotency token for CopyImage: the same source, region and attempt always give the same token, so a re-invoked
 * Lambda gets the copy it already started instead of a second one. At most 64 ASCII characters, as EC2 requires.
 */
export function copyClientToken(sourceImageId: string, region: string, attempt: number): string {
  const digest = createHash('sha256').update(`${sourceImageId}|${region}|${attempt}`).digest('hex');
  return `ami-pipeline-${digest.slice(0, 48)}`;
}

const DEAD_STATES = new Set(['failed', 'error', 'invalid', 'deregistered']);

/**
 * Advances the copies of one region from the states one DescribeImages returned (`observed`, by image id): available
 * copies are done; failed ones are deregistered and queued again until `maxAttempts`; past `deadline` everything
 * unfinished fails; queued copies start while fewer than `concurrency` are in flight. Pure.
 */
export function advanceCopies(
  copies: readonly CopyProgress[],
  observed: Readonly<Record<string, { state: string; reason?: string }>>,
  limits: { readonly now: Date; readonly deadline: string; readonly maxAttempts: number; readonly concurrency: number },
): CopyStep {
  const expired = limits.now.getTime() > Date.parse(limits.deadline);
  const deregister: string[] = [];
  const next: CopyProgress[] = copies.map((copy) => {
    if (copy.state !== 'copying' || !copy.imageId) return copy;
    const seen = observed[copy.imageId];
    if (seen?.state === 'available') return { ...copy, state: 'available' };
    if (seen && DEAD_STATES.has(seen.state)) {
      deregister.push(copy.imageId);
      const why = `copy ${copy.imageId} ${seen.state}${seen.reason ? `: ${seen.reason}` : ''}`;
      if (copy.attempt >= limits.maxAttempts) {
        return { ...copy, state: 'failed', error: `${why} (attempt ${copy.attempt} of ${limits.maxAttempts})` };
      }
      return { source: copy.source, name: copy.name, attempt: copy.attempt, state: 'queued', error: why };
    }
    // Not yet listed (EC2 is eventually consistent right after CopyImage) or still pending.
    return copy;
  });
  if (expired) {
    const timedOut = next.map((copy): CopyProgress => {
      if (copy.state === 'copying') return { ...copy, state: 'failed', error: `copy ${copy.imageId} timed out` };
      if (copy.state === 'queued') return { ...copy, state: 'failed', error: 'not started before the deadline' };
      return copy;
    });
    return { copies: timedOut, deregister, start: [], pending: false };
  }
  const inFlight = next.filter((c) => c.state === 'copying').length;
  const start = next
    .filter((c) => c.state === 'queued')
    .slice(0, Math.max(0, limits.concurrency - inFlight))
    .map((c) => c.source);
  const pending = next.some((c) => c.state === 'queued' || c.state === 'copying');
  return { copies: next, deregister, start, pending };
}

/** Records the outcome of starting the copies of `start`: an image id, or the error that stopped it. */
export function recordStarts(
  copies: readonly CopyProgress[],
  started: Readonly<Record<string, { imageId?: string; error?: string }>>,
): CopyProgress[] {
  return copies.map((copy) => {
    const outcome = started[copy.source];
    if (!outcome || copy.state !== 'queued') return copy;
    if (outcome.imageId) {
      return {
        source: copy.source,
        name: copy.name,
        imageId: outcome.imageId,
        attempt: copy.attempt + 1,
        state: 'copying',
      };
    }
    return { ...copy, attempt: copy.attempt + 1, state: 'failed', error: outcome.error ?? 'copy could not start' };
  });
}

/** Whether any copy is still queued or in flight. */
export function copiesPending(copies: readonly CopyProgress[]): boolean {
  return copies.some((c) => c.state === 'queued' || c.state === 'copying');
}

/** Longest wait between two polls of a region, whatever the first interval. */
export const MAX_POLL_SECONDS = 600;

/**
 * Seconds before the next poll: doubling from the configured interval up to `maxSeconds`. Early polls catch quick
 * copies; later ones are spaced out so that one execution's history stays far under Step Functions' cap.
 */
export function nextPollSeconds(currentSeconds: number, maxSeconds = MAX_POLL_SECONDS): number {
  if (currentSeconds <= 0) return 0;
  return Math.min(currentSeconds * 2, Math.max(maxSeconds, currentSeconds));
}
