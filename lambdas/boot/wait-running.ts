import { z } from 'zod';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { currentInvocation } from '../shared/invocation';
import { waitUntilRunning } from '../aws/boot/instances';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { Logger } from '../shared/logger';

const eventSchema = z.object({ instanceIds: z.array(z.string().regex(/^i-[0-9a-f]+$/)) });

const logger = new Logger({ service: 'boot-wait-running' });
const POLL_MS = 1000;

/** Polls pending -> running for all of a round's instances, one DescribeInstances call per poll. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const limiter = invocationLimiter();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'boot-wait-running');
  const config = configFromEnv();
  const ec2 = clients.ec2(config.buildRegion);
  const timeoutMs = Math.min(config.bootTest.timeoutSeconds, 840) * 1000;
  const watch = await waitUntilRunning(ec2, limiter, clock, config.buildRegion, input.instanceIds, {
    intervalMs: POLL_MS,
    timeoutMs,
  });
  logger.info('instances running', {
    region: config.buildRegion,
    running: watch.runningAt.size,
    gaveUp: Object.fromEntries(watch.gaveUp),
    polls: watch.polls,
  });
  return { runningAt: Object.fromEntries(watch.runningAt), gaveUp: Object.fromEntries(watch.gaveUp) };
}
