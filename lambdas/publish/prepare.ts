import * as z from 'zod';
import { prepareRegion } from '../aws/publish/service';
import { parseEvent } from '../shared/event';
import { handlerContext, imageIds, regionSchema, runIdSchema } from './shared';

const eventSchema = z.object({
  region: regionSchema,
  images: imageIds,
  pollSeconds: z.number().int().min(0),
  runId: runIdSchema,
  /** A run naming its sources works every pair, published or not. */
  recheck: z.boolean().default(false),
});

/** Keeps the region's open pairs, runs the preflight, then starts the missing copies of one region. */
export async function handler(event: unknown) {
  const input = parseEvent(eventSchema, event, 'publish-prepare');
  const ctx = handlerContext('publish-prepare');
  const progress = await prepareRegion(ctx, input);
  ctx.logger.info('region prepared', {
    region: progress.region,
    pairs: progress.images.length,
    pending: progress.pending,
    failure: progress.failure,
  });
  return progress;
}
