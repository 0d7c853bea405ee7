import { z } from 'zod';
import { prepareRegion } from '../aws/publish/service';
import { parseEvent } from '../shared/event';
import { handlerContext, imageIds, regionSchema } from './shared';

const eventSchema = z.object({
  region: regionSchema,
  images: imageIds,
  pollSeconds: z.number().int().min(0),
  /** The execution's start time, from which the copy deadline counts. */
  startedAt: z.iso.datetime({ offset: true }).optional(),
});

/** Preflight, then starts the missing copies of one region. */
export async function handler(event: unknown) {
  const input = parseEvent(eventSchema, event, 'publish-prepare');
  const ctx = handlerContext('publish-prepare');
  const progress = await prepareRegion(ctx, input);
  ctx.logger.info('region prepared', {
    region: progress.region,
    pending: progress.pending,
    copies: progress.copies.length,
    failure: progress.failure,
  });
  return progress;
}
