import { pollRegion } from '../aws/publish/service';
import { parseEvent } from '../shared/event';
import { handlerContext, regionProgressSchema } from './shared';

/** One poll of a region's copies (one DescribeImages), retrying failed copies and starting queued ones. */
export async function handler(event: unknown) {
  const progress = parseEvent(regionProgressSchema, event, 'publish-poll');
  const ctx = handlerContext('publish-poll');
  const next = await pollRegion(ctx, progress);
  ctx.logger.info('region polled', { region: next.region, pending: next.pending, waitSeconds: next.waitSeconds });
  return next;
}
