import * as z from 'zod';
import { discoverStep } from '../aws/publish/service';
import { parseEvent } from '../shared/event';
import { handlerContext, imageIds, regionSchema, runIdSchema } from './shared';

const eventSchema = z.object({
  /** The execution's input, with the regions the Regions step selected. */
  start: z.object({
    /** A manual start may name the source images; otherwise new ones are discovered. */
    imageIds: imageIds.optional(),
    /** Seconds before the first poll (tests pass 0 or 1); the configuration's interval otherwise. */
    pollSeconds: z.number().int().min(0).max(3600).optional(),
    selection: z.object({ regions: z.array(regionSchema) }),
  }),
  runId: runIdSchema,
});

/** Finds the source images this run publishes and records in the ledger the pairs it takes on or gives up. */
export async function handler(event: unknown) {
  const input = parseEvent(eventSchema, event, 'publish-discover');
  const ctx = handlerContext('publish-discover');
  const { start, runId } = input;
  const result = await discoverStep(ctx, {
    regions: start.selection.regions,
    imageIds: start.imageIds,
    pollSeconds: start.pollSeconds,
    runId,
  });
  ctx.logger.info('sources discovered', {
    count: result.count,
    fresh: result.fresh.length,
    complete: result.complete,
    deferred: result.deferred,
    gaveUp: result.gaveUpCount,
    regions: result.regions.length,
  });
  return result;
}
