import { pollAudit } from '../aws/audit/service';
import { parseEvent } from '../shared/event';
import { auditRegionStateSchema, handlerContext } from './shared';

/** One poll of the copies the audit started in a region. */
export async function handler(event: unknown) {
  const state = parseEvent(auditRegionStateSchema, event, 'audit-poll');
  const ctx = handlerContext('audit-poll');
  const next = await pollAudit(ctx, state);
  ctx.logger.info('audit copies polled', { region: next.region, pending: next.pending, waitSeconds: next.waitSeconds });
  return next;
}
