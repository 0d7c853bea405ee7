import { z } from 'zod';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { planRun } from '../aws/boot/run';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { Logger } from '../shared/logger';
import { runId } from './schemas';

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

/** Plans a boot test run: which image boots on which instance type, round by round. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const limiter = invocationLimiter();
  const input = parseEvent(eventSchema, event, 'boot-plan');
  const config = configFromEnv();
  const { plan, skippedImages } = await planRun(config, clients, limiter, config.buildRegion, {
    runId: input.runId,
    ...input.request,
  });
  logger.info('boot test planned', {
    region: config.buildRegion,
    runId: input.runId,
    rounds: plan.rounds.length,
    launches: plan.rounds.flat().length,
    skippedImages,
  });
  return {
    runId: input.runId,
    rounds: plan.rounds.map((launches) => ({ launches })),
    skippedImages,
    probe: {
      timeoutSeconds: Math.min(config.bootTest.timeoutSeconds, 840),
      intervalMs: config.bootTest.probeIntervalMs,
    },
  };
}
