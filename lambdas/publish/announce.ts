import { z } from 'zod';
import { announceStep } from '../aws/publish/service';
import { parseEvent } from '../shared/event';
import { invocationEnv } from '../shared/invocation';
import { handlerContext, imageIds, regionOutcomeSchema } from './shared';

/** Environment variable naming the announcement topic. */
export const TOPIC_ENV = 'ANNOUNCEMENT_TOPIC_ARN';
const MAX_LISTED_FAILURES = 100;

const eventSchema = z.object({ images: imageIds, outcomes: z.array(regionOutcomeSchema) });

/** Announces what was published, marks complete sources, and says which regions failed. */
export async function handler(event: unknown) {
  const input = parseEvent(eventSchema, event, 'publish-announce');
  const ctx = handlerContext('publish-announce');
  // Without a topic (a local run that names none) the run is still summarized and sources marked; nothing is sent.
  const result = await announceStep(ctx, { ...input, topicArn: invocationEnv()[TOPIC_ENV] || undefined });
  ctx.logger.info('publish run summarized', {
    messages: result.messages,
    failedRegions: result.failedRegions,
    failures: result.failures.length,
  });
  return {
    messages: result.messages,
    markedPublished: result.markedPublished.length,
    failedRegions: result.failedRegions,
    failedCount: result.failedRegions.length + result.failed.length,
    failures: result.failures.slice(0, MAX_LISTED_FAILURES),
  };
}
