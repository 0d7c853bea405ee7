import { EC2Client } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { hotplugCheck } from '../aws/boot/checks';
import { bootTestTags, fetchConsoleText } from '../aws/boot/instances';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { classifyConsole, consoleFails } from '../core/boot/console';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { launchedTarget, runId } from './schemas';

const eventSchema = z.object({
  runId,
  instance: launchedTarget,
  /** The state machine starts with `{ completed: 0 }` and carries the kept volume between batches. */
  resume: z.object({ volumeId: z.string().optional(), completed: z.number().int().min(0) }),
});

const logger = new Logger({ service: 'boot-hotplug' });
// A batch stops starting cycles after 8 minutes: one more cycle (two waits of at most 90 s) and deleting the volume
// still end well inside the 15-minute Lambda limit; the state machine resumes the remaining cycles.
const BATCH_MS = 8 * 60_000;

/** Runs a batch of EBS attach/detach cycles; the volume is deleted once all cycles ran or one failed. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const limiter = invocationLimiter();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'boot-hotplug');
  const config = configFromEnv();
  const region = config.buildRegion;
  const ec2 = clients.client(EC2Client, region);
  const { instanceId, availabilityZone, instanceType } = input.instance;
  const ctx = { ec2, limiter, clock, region };
  const result = await hotplugCheck(ctx, {
    instanceId,
    availabilityZone,
    cycles: input.instance.hotplugCycles,
    tags: bootTestTags(config.managedTag, input.runId, input.instance),
    cycleTimeoutMs: 90_000,
    pollMs: 1000,
    resume: input.resume.volumeId ? { volumeId: input.resume.volumeId, completed: input.resume.completed } : undefined,
    deadlineAt: clock.now() + BATCH_MS,
    afterCycles: async () => {
      const verdict = classifyConsole(await fetchConsoleText(ctx, { instanceId, instanceType }));
      return consoleFails(verdict) ? verdict.reason : undefined;
    },
  });
  logger.info('hot-plug batch', {
    region,
    instanceId,
    cycles: result.cycles,
    finished: result.finished,
    reason: result.reason,
  });
  return result;
}
