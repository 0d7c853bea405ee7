import { runPrune } from '../aws/prune';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { PipelineError } from '../core/errors';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { currentInvocation, remainingMs } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { MAX_LISTED_FAILURES, type RegionBatch, regionBatchSchema } from './schemas';

/** A batch reached the deleting function from a run that only planned (a dry run, or a hand-made event). */
export class ExecutionNotRequestedError extends PipelineError {
  override readonly name: string = 'ExecutionNotRequestedError';
}

/** The actions whose buckets a batch spends. */
const DELETING_ACTIONS = ['DeregisterImage', 'DeleteSnapshot'] as const;

/** Time kept back from the invocation's budget for the last call in flight and the return. */
const SAFETY_MARGIN_MS = 60_000;
/** A backlog of 7,500 images at 5 deletions per second takes about 15 batches; far more means something is wrong. */
const MAX_BATCHES = 200;

const logger = new Logger({ service: 'prune-execute' });

/** One resumable batch of a region: plan again, delete until the time budget ends, hand on the cursor. */
export async function handler(event: unknown, context?: { getRemainingTimeInMillis(): number }): Promise<RegionBatch> {
  const input = parseEvent(regionBatchSchema, event, 'prune-execute');
  if (!input.execute)
    throw new ExecutionNotRequestedError(`${input.region}: the run did not ask to execute; nothing is deleted`);
  if (input.batch >= MAX_BATCHES) throw new PipelineError(`${input.region}: ${MAX_BATCHES} batches did not finish`);
  const config = configFromEnv();
  const clients = invocationClients();
  const budgetMs = Math.max(10_000, Math.min(remainingMs(context), 900_000) - SAFETY_MARGIN_MS);
  const limiter = invocationLimiter();
  // The batch before this one deleted at the buckets' sustained rate until its time ran out: AWS's buckets of the
  // region are empty, whichever container ran it, and a full burst now would come back throttled.
  if (input.batch > 0) for (const action of DELETING_ACTIONS) limiter.drain(input.region, action);
  const log = logger.with({ region: input.region, batch: input.batch });
  const { report, complete } = await runPrune({
    config,
    clients,
    limiter,
    clock: currentInvocation().clock,
    now: new Date(currentInvocation().clock.now()),
    logger: log,
    regions: [input.region],
    execute: true,
    overrideBreaker: input.overrideBreaker,
    capBoundary: input.capBoundary ?? undefined,
    budgetMs,
  });
  const region = report.regions[0]!;
  if (region.error) throw new PipelineError(`${input.region}: ${region.error}`);
  const t = input.totals;
  const totals = {
    imagesDeregistered: t.imagesDeregistered + region.imagesDeregistered,
    imagesSoftDeleted: t.imagesSoftDeleted + region.imagesSoftDeleted,
    snapshotsDeleted: t.snapshotsDeleted + region.snapshotsDeleted,
    gibReclaimed: t.gibReclaimed + region.gibReclaimed,
    snapshotsInUse: t.snapshotsInUse + region.snapshotsInUse.length,
    failureCount: t.failureCount + region.failures.length,
    failures: [...t.failures, ...region.failures].slice(0, MAX_LISTED_FAILURES),
  };
  log.info('prune batch', { complete, ...totals, failures: undefined });
  return { ...input, batch: input.batch + 1, complete, totals };
}
