import * as z from 'zod';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { planBootRun } from '../aws/boot/run';
import { batchLaunches, HISTORY_EVENT_BUDGET, historyEventEstimate } from '../core/boot/plan';
import { ConfigError } from '../core/errors';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { runId, runTableFromEnv } from './schemas';

const eventSchema = z.object({
  runId,
  /** The execution input: which images, and optionally which types and how many boots each. */
  request: z.object({
    imageIds: z.array(z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'an image id looks like ami-0123456789abcdef0')).min(1),
    instanceTypes: z.array(z.string()).optional(),
    runs: z.number().int().min(1).max(10).optional(),
  }),
});

const logger = new Logger({ service: 'boot-plan' });

/**
 * Plans a boot test run and stores the plan in the run table; the state machine gets only the run id and the size
 * of each batch, so what it carries does not grow with the number of images.
 */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const limiter = invocationLimiter();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'boot-plan');
  const config = configFromEnv();
  const region = config.buildRegion;
  const { plan, skippedImages } = await planBootRun(config, clients, limiter, region, {
    runId: input.runId,
    ...input.request,
  });
  const batches = batchLaunches(plan.rounds);
  const batchSizes = batches.map((b) => b.length);
  const events = historyEventEstimate({
    batchSizes,
    checkedLaunches: batches.flat().filter((l) => l.checks.hotplugCycles > 0).length,
    hotplugCycles: config.bootTest.hotplugCycles,
  });
  // Past 25,000 events Step Functions ends the execution where no Catch runs: refuse before launching anything.
  if (events > HISTORY_EVENT_BUDGET)
    throw new ConfigError(
      `${batches.flat().length} launches in ${batchSizes.length} batches need about ${events} history events, more than one execution holds (${HISTORY_EVENT_BUDGET}); test fewer images, types or runs per execution`,
    );
  await runTableFromEnv(clients, region, clock).putPlan(
    { runId: input.runId, request: input.request, skippedImages, batchSizes, plannedAt: clock.now() },
    batches,
  );
  logger.info('boot test planned', {
    region,
    runId: input.runId,
    rounds: plan.rounds.length,
    batches: batchSizes,
    launches: batches.flat().length,
    skippedImages,
  });
  return {
    runId: input.runId,
    batches: batchSizes,
    launches: batches.flat().length,
    skippedImages: skippedImages.length,
    probe: {
      timeoutSeconds: Math.min(config.bootTest.timeoutSeconds, 840),
      intervalMs: config.bootTest.probeIntervalMs,
    },
  };
}
