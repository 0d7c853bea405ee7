import { settleRegion } from '../aws/audit/service';
import { parseEvent } from '../shared/event';
import { auditRegionStateSchema, handlerContext } from './shared';

/** Looks at a region again after its repairs, finishes the new copies and reports each finding's outcome. */
export async function handler(event: unknown) {
  const state = parseEvent(auditRegionStateSchema, event, 'audit-settle');
  const ctx = handlerContext('audit-settle');
  const report = await settleRegion(ctx, state);
  ctx.logger.info('region settled', {
    region: report.region,
    status: report.status,
    found: report.found,
    repaired: report.repaired,
    unrepaired: report.unrepaired,
  });
  return report;
}
