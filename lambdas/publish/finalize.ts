import { finalizeRegion } from '../aws/publish/service';
import { parseEvent } from '../shared/event';
import { handlerContext, regionProgressSchema } from './shared';

/** Tags a region's images, makes them public, deprecates them and moves SSM forward, each image in order. */
export async function handler(event: unknown) {
  const progress = parseEvent(regionProgressSchema, event, 'publish-finalize');
  const ctx = handlerContext('publish-finalize');
  const result = await finalizeRegion(ctx, progress);
  ctx.logger.info('region finalized', {
    region: result.region,
    status: result.summary.status,
    published: result.summary.published,
    failed: result.summary.failed,
    verify: result.verify?.parameters.length ?? 0,
  });
  return result;
}
