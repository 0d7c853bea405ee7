import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { DynamoReproHistory } from '../aws/repro/history';
import { listBuilderImages } from '../aws/repro/checks';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { namingProfile } from '../core/naming';
import { isoWeek, planRepro } from '../core/repro/plan';
import { parseEvent } from '../shared/event';
import { configFromEnv, requiredEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { REPRO_ENV, runId } from './schemas';

const eventSchema = z.object({
  runId,
  request: z
    .object({
      /** Images an operator names instead of the week's default selection. */
      imageIds: z.array(z.string().regex(/^ami-[0-9a-f]+$/)).optional(),
      instanceType: z.string().optional(),
    })
    .default({}),
});

const logger = new Logger({ service: 'repro-plan' });

/** Plans the week's checks within the weekly caps, counting what the history says already ran this week. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'repro-plan');
  const config = configFromEnv();
  const region = config.buildRegion;
  const now = new Date(clock.now());
  const history = new DynamoReproHistory(clients.client(DynamoDBClient, region), requiredEnv(REPRO_ENV.historyTable));
  const week = isoWeek(now);
  const alreadyThisWeek = (await history.list())
    .filter((row) => row.week === week)
    .map((row) => ({ key: `${row.week}/${row.imageId}`, instanceHours: row.instanceHours }));
  const images = await listBuilderImages(
    clients.client(EC2Client, region),
    invocationLimiter(),
    region,
    config.managedTag,
    input.request.imageIds,
  );
  const plan = planRepro({
    images,
    config,
    profile: namingProfile(config.naming.profile),
    now,
    imageIds: input.request.imageIds,
    instanceType: input.request.instanceType,
    alreadyThisWeek,
  });
  logger.info('reproducibility checks planned', {
    region,
    runId: input.runId,
    week: plan.week,
    checks: plan.checks.map((c) => `${c.imageId} ${c.revision} on ${c.instanceType}`),
    skipped: plan.skipped.length,
    instanceHours: plan.cost.instanceHours,
    estimatedUsd: plan.cost.estimatedUsd,
  });
  return {
    runId: input.runId,
    week: plan.week,
    checks: plan.checks,
    skipped: plan.skipped,
    cost: plan.cost,
    usedInstanceHours: plan.usedInstanceHours,
  };
}
