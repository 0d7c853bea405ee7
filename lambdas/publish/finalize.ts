import { finalizeRegion } from '../aws/publish/service';
import { parseEvent } from '../shared/event';
import { handlerContext, regionProgressSchema } from './shared';

/** Makes a region's images public, tags and deprecates them and moves its SSM parameters forward. */
export async function handler(event: unknown) {
  const progress = parseEvent(regionProgressSchema, event, 'publish-finalize');
  const ctx = handlerContext('publish-finalize');
  const outcome = await finalizeRegion(ctx, progress);
  ctx.logger.info('region finalized', {
    region: outcome.region,
    status: outcome.status,
    published: Object.keys(outcome.published).length,
    failed: outcome.failed.length,
  });
  return outcome;
}
