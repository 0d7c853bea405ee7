import * as z from 'zod';
import { announceStep } from '../aws/publish/service';
import { parseEvent } from '../shared/event';
import { invocationEnv } from '../shared/invocation';
import { handlerContext, imageIds, regionOutcomeSchema, regionSchema, runIdSchema } from './shared';

/** Environment variable naming the announcement topic. */
export const TOPIC_ENV = 'ANNOUNCEMENT_TOPIC_ARN';

const eventSchema = z.object({
  runId: runIdSchema,
  regions: z.array(regionSchema),
  images: imageIds,
  outcomes: z.array(regionOutcomeSchema),
  gaveUpCount: z.number().int().min(0).default(0),
});

/** Announces what this run published, from the ledger, and sums the run up for the digest. */
export async function handler(event: unknown) {
  const input = parseEvent(eventSchema, event, 'publish-announce');
  const ctx = handlerContext('publish-announce');
  // Without a topic (a local run that names none) the run is still summarized; nothing is sent.
  const { announcement: _sent, ...summary } = await announceStep(ctx, {
    ...input,
    topicArn: invocationEnv()[TOPIC_ENV] || undefined,
  });
  ctx.logger.info('publish run summarized', {
    messages: summary.messages,
    failedRegions: summary.failedRegions,
    failedCount: summary.failedCount,
  });
  return summary;
}
