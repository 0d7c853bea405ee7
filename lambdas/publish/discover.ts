import { z } from 'zod';
import { discoverStep } from '../aws/publish/service';
import { parseEvent } from '../shared/event';
import { handlerContext, imageIds, regionSchema } from './shared';

const eventSchema = z.object({
  /** A manual start may name the source images; otherwise new ones are discovered. */
  imageIds: imageIds.optional(),
  /** Seconds before the first poll (tests pass 0 or 1); the configuration's interval otherwise. */
  pollSeconds: z.number().int().min(0).max(3600).optional(),
  selection: z.object({ regions: z.array(regionSchema) }),
});

/** Finds the source images this run publishes and the regions it publishes them to. */
export async function handler(event: unknown) {
  const input = parseEvent(eventSchema, event, 'publish-discover');
  const ctx = handlerContext('publish-discover');
  const { discovery, ...result } = await discoverStep(ctx, {
    regions: input.selection.regions,
    imageIds: input.imageIds,
    pollSeconds: input.pollSeconds,
  });
  ctx.logger.info('sources discovered', {
    count: result.count,
    skipped: discovery.skipped.length,
    regions: result.regions.length,
  });
  return result;
}
