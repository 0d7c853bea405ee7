import { createHash } from 'node:crypto';

/** Where one (source image, region) copy stands. */
export interface CopyProgress {
  readonly source: string;
  readonly name: string;
  readonly imageId?: string;
  /** Copy attempts started so far in this run (a failed copy is started again, up to a bound). */
  readonly attempt: number;
  readonly state: 'queued' | 'copying' | 'available' | 'failed';
  /** When the copy in flight started (ISO); its own deadline counts from here. */
  readonly startedAt?: string;
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

/** Limits of one region's copies: per-copy timeout, attempts, copies in flight at once. */
export interface CopyLimits {
  readonly now: Date;
  readonly copyTimeoutMs: number;
  readonly maxAttempts: number;
  readonly concurrency: number;
}

/**
 * Idempotency token for CopyImage. Within one run (`runId`, the execution's name) the same source, region and attempt
 * always give the same token, so a re-invoked Lambda gets the copy it already started instead of a second one. A new
 * run gives new tokens: EC2 remembers a token after its copy is gone and would hand back that deregistered image, or
 * answer `IdempotentParameterMismatch`. At most 64 ASCII characters, as EC2 requires.
 */
export function copyClientToken(sourceImageId: string, region: string, attempt: number, runId: string): string {
  const digest = createHash('sha256').update(`${sourceImageId}|${region}|${attempt}|${runId}`).digest('hex');
  return `ami-pipeline-${digest.slice(0, 48)}`;
}

/** States of a copy that will never become available; it is deregistered before copying again. */
const FAILED_STATES = new Set(['failed', 'error', 'invalid']);
/** A deregistered copy is already gone: it is copied afresh, never deregistered again. */
const GONE_STATES = new Set(['deregistered']);

function deadlineOf(copy: CopyProgress, limits: CopyLimits): number {
  const started = copy.startedAt ? Date.parse(copy.startedAt) : limits.now.getTime();
  return started + limits.copyTimeoutMs;
}

function retryOrFail(copy: CopyProgress, why: string, limits: CopyLimits): CopyProgress {
  if (copy.attempt >= limits.maxAttempts) {
    return { ...copy, state: 'failed', error: `${why} (attempt ${copy.attempt} of ${limits.maxAttempts})` };
  }
  return { source: copy.source, name: copy.name, attempt: copy.attempt, state: 'queued', error: why };
}

/**
 * Advances the copies of one region from the states one DescribeImages returned (`observed`, by image id): available
 * copies are done; failed ones are deregistered and queued again until `maxAttempts`; deregistered ones are queued
 * again without another deregistration; a copy still unfinished `copyTimeoutMs` after its own start fails; queued
 * copies start while fewer than `concurrency` are in flight. Pure.
 */
export function advanceCopies(
  copies: readonly CopyProgress[],
  observed: Readonly<Record<string, { state: string; reason?: string }>>,
  limits: CopyLimits,
): CopyStep {
  const deregister: string[] = [];
  const now = limits.now.getTime();
  const next: CopyProgress[] = copies.map((copy) => {
    if (copy.state !== 'copying' || !copy.imageId) return copy;
    const seen = observed[copy.imageId];
    if (seen?.state === 'available') return { ...copy, state: 'available' };
    if (seen && FAILED_STATES.has(seen.state)) {
      deregister.push(copy.imageId);
      return retryOrFail(copy, `copy ${copy.imageId} ${seen.state}${seen.reason ? `: ${seen.reason}` : ''}`, limits);
    }
    if (seen && GONE_STATES.has(seen.state)) {
      return retryOrFail(copy, `copy ${copy.imageId} was ${seen.state} while copying`, limits);
    }
    if (now > deadlineOf(copy, limits)) {
      const minutes = Math.round(limits.copyTimeoutMs / 60_000);
      return { ...copy, state: 'failed', error: `copy ${copy.imageId} not available ${minutes} min after it started` };
    }
    // Not yet listed (EC2 is eventually consistent right after CopyImage) or still pending.
    return copy;
  });
  const inFlight = next.filter((c) => c.state === 'copying').length;
  const start = next
    .filter((c) => c.state === 'queued')
    .slice(0, Math.max(0, limits.concurrency - inFlight))
    .map((c) => c.source);
  const pending = next.some((c) => c.state === 'queued' || c.state === 'copying');
  return { copies: next, deregister, start, pending };
}

/** Records the outcome of starting the copies of `start` at `now`: an image id, or the error that stopped it. */
export function recordStarts(
  copies: readonly CopyProgress[],
  started: Readonly<Record<string, { imageId?: string; error?: string }>>,
  now: Date,
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
        startedAt: now.toISOString(),
      };
    }
    return { ...copy, attempt: copy.attempt + 1, state: 'failed', error: outcome.error ?? 'copy could not start' };
  });
}

/** Whether any copy is still queued or in flight. */
export function copiesPending(copies: readonly CopyProgress[]): boolean {
  return copies.some((c) => c.state === 'queued' || c.state === 'copying');
}

/**
 * Fails every copy still queued or in flight with `reason`: a region that used up its budget of polls ends there,
 * rather than pushing the execution past its history cap.
 */
export function abandonPending(copies: readonly CopyProgress[], reason: string): CopyProgress[] {
  return copies.map((copy) =>
    copy.state === 'queued' || copy.state === 'copying'
      ? { ...copy, state: 'failed', error: copy.imageId ? `copy ${copy.imageId} ${reason}` : reason }
      : copy,
  );
}
