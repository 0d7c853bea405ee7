import { EC2Client } from '@aws-sdk/client-ec2';
import { z } from 'zod';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { PartialFailureError } from '../core/errors';
import { cleanupReproRun } from '../aws/repro/checks';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { runId } from './schemas';

const eventSchema = z.object({ runId });

const logger = new Logger({ service: 'repro-cleanup' });

/** Terminates every instance and deletes every volume tagged with the run, on success, failure and timeout alike. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'repro-cleanup');
  const config = configFromEnv();
  const region = config.buildRegion;
  const report = await cleanupReproRun(
    {
      ec2: clients.client(EC2Client, region),
      limiter: invocationLimiter(),
      clock,
      region,
      managed: config.managedTag,
    },
    input.runId,
  );
  logger.info('reproducibility run cleaned up', {
    region,
    runId: input.runId,
    terminated: report.terminated,
    volumesDeleted: report.volumesDeleted,
    failed: report.failed,
  });
  if (report.failed.length)
    throw new PartialFailureError(
      `cleanup of ${input.runId} left ${report.failed.length} resource(s); the sweeper retries`,
      report.failed,
    );
  return { terminated: report.terminated.length, volumesDeleted: report.volumesDeleted.length };
}
