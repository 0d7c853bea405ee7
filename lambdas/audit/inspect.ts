import { inspectRegion } from '../aws/audit/service';
import { parseEvent } from '../shared/event';
import { auditRegionInputSchema, handlerContext } from './shared';

/** Audits one region and, when repairing, applies publish's changes and starts the missing copies. */
export async function handler(event: unknown) {
  const input = parseEvent(auditRegionInputSchema, event, 'audit-inspect');
  const ctx = handlerContext('audit-inspect');
  const state = await inspectRegion(ctx, input);
  ctx.logger.info('region inspected', {
    region: state.region,
    findings: state.found.length,
    copies: state.copy?.copies.length ?? 0,
    pending: state.pending,
  });
  return state;
}
