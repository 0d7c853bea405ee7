import * as z from 'zod';
import { summarizeAudit } from '../core/audit/report';
import { parseEvent } from '../shared/event';
import { Logger } from '../shared/logger';
import { auditOutcomeSchema } from './shared';

const eventSchema = z.object({
  repair: z.boolean(),
  builds: z.number().int().min(0),
  outcomes: z.array(auditOutcomeSchema),
});

const logger = new Logger({ service: 'audit-summary' });

/** Sums the regions' reports up: findings by kind, what was repaired, what was not and why. */
export async function handler(event: unknown) {
  const input = parseEvent(eventSchema, event, 'audit-summary');
  const summary = summarizeAudit(input);
  logger.info('audit summed up', {
    regions: summary.regions,
    found: summary.found,
    repaired: summary.repaired,
    unrepaired: summary.unrepaired,
    failedRegions: summary.failedRegions,
  });
  return summary;
}
