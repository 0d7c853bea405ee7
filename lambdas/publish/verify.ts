import { verifyParameters } from '../aws/publish/service';
import { parseEvent } from '../shared/event';
import { finalizeResultSchema, handlerContext } from './shared';

/** Reads back the SSM parameters Finalize wrote, once SSM has had time to validate them. */
export async function handler(event: unknown) {
  const result = parseEvent(finalizeResultSchema, event, 'publish-verify');
  const ctx = handlerContext('publish-verify');
  const summary = await verifyParameters(ctx, result);
  ctx.logger.info('parameters verified', {
    region: summary.region,
    status: summary.status,
    checked: result.verify?.parameters.length ?? 0,
    failed: summary.failed,
  });
  return summary;
}
