import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import type { PublishContext } from '../aws/publish/context';
import { DynamoLedger } from '../aws/publish/ledger';
import { publishContext } from '../aws/publish/service';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { configFromEnv, requiredEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';

/** Environment variable naming the publish ledger table (set by lib/publish-workflow.ts). */
export const LEDGER_ENV = 'PUBLISH_LEDGER_TABLE';

/** The context every publish handler runs with: configuration from the environment, shared clients, the ledger. */
export function handlerContext(service: string): PublishContext {
  const clock = currentInvocation().clock;
  const config = configFromEnv();
  const clients = invocationClients();
  return publishContext({
    config,
    clients,
    limiter: invocationLimiter(),
    logger: new Logger({ service }),
    now: () => new Date(clock.now()),
    ledger: new DynamoLedger(clients.client(DynamoDBClient, config.buildRegion), requiredEnv(LEDGER_ENV)),
  });
}

const imageId = z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'an AMI id looks like ami-0123456789abcdef0');
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'a region name looks like eu-west-1');
/** The execution's name (Step Functions allows 1-80 characters). */
export const runIdSchema = z.string().min(1).max(80);

export const imageIds = z.array(imageId);

const copyProgress = z.object({
  source: imageId,
  name: z.string(),
  imageId: imageId.optional(),
  attempt: z.number().int().min(0),
  state: z.enum(['queued', 'copying', 'available', 'failed']),
  startedAt: z.iso.datetime().optional(),
  error: z.string().optional(),
});

/** The state one region's iteration of the workflow carries from step to step. */
export const regionProgressSchema = z.object({
  region,
  runId: runIdSchema,
  images: imageIds,
  pollSeconds: z.number().int().min(0),
  waitSeconds: z.number().int().min(0),
  polls: z.number().int().min(0),
  endsAt: z.iso.datetime(),
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

/** A region's summary: from Finalize or VerifyParameters. */
export const regionSummarySchema = z.object({
  region,
  status: z.enum(['published', 'partial', 'failed']),
  pairs: z.number().int().min(0),
  published: z.number().int().min(0),
  failed: z.number().int().min(0),
  changes: z.number().int().min(0),
  error: z.string().optional(),
  notes: z.array(z.string()).optional(),
});

/** What Finalize hands to VerifyParameters. */
export const finalizeResultSchema = z.object({
  region,
  summary: regionSummarySchema,
  verify: z
    .object({
      runId: runIdSchema,
      waitSeconds: z.number().int().min(0),
      parameters: z.array(z.object({ parameter: z.string(), imageId, source: imageId, name: z.string() })),
    })
    .optional(),
});

/** A region's outcome as the Map collects it: a summary, or the failure branch's region and error. */
export const regionOutcomeSchema = z.union([
  regionSummarySchema,
  z.object({ region, status: z.literal('failed'), error: z.string() }),
]);

export { region as regionSchema };
