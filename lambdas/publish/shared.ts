import { z } from 'zod';
import type { PublishContext } from '../aws/publish/context';
import { publishContext } from '../aws/publish/service';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { configFromEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';

/** The context every publish handler runs with: configuration from the environment, shared clients. */
export function handlerContext(service: string): PublishContext {
  const clock = currentInvocation().clock;
  return publishContext({
    config: configFromEnv(),
    clients: invocationClients(),
    limiter: invocationLimiter(),
    logger: new Logger({ service }),
    now: () => new Date(clock.now()),
  });
}

const imageId = z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'an AMI id looks like ami-0123456789abcdef0');
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'a region name looks like eu-west-1');

export const imageIds = z.array(imageId);

const copyProgress = z.object({
  source: imageId,
  name: z.string(),
  imageId: imageId.optional(),
  attempt: z.number().int().min(0),
  state: z.enum(['queued', 'copying', 'available', 'failed']),
  error: z.string().optional(),
});

/** The state one region's iteration of the workflow carries from step to step. */
export const regionProgressSchema = z.object({
  region,
  images: imageIds,
  pollSeconds: z.number().int().min(0),
  waitSeconds: z.number().int().min(0),
  deadline: z.iso.datetime(),
  pending: z.boolean(),
  copies: z.array(copyProgress),
  preflight: z
    .object({
      blockPublicAccess: z.string(),
      publicImages: z.number().optional(),
      problems: z.array(z.string()),
      notes: z.array(z.string()),
    })
    .optional(),
  failure: z.string().optional(),
});

const itemFailure = z.object({ id: z.string(), region: z.string(), error: z.string(), code: z.string().optional() });

/** A region's outcome: from Finalize, or from the failure branch (region and error only). */
export const regionOutcomeSchema = z.union([
  z.object({
    region,
    status: z.enum(['published', 'partial', 'failed']),
    published: z.record(z.string(), imageId),
    failed: z.array(itemFailure),
    changes: z.number(),
    error: z.string().optional(),
    notes: z.array(z.string()).optional(),
  }),
  z.object({ region, status: z.literal('failed'), error: z.string() }),
]);

export { region as regionSchema };
