import * as z from 'zod';
import { cleanupRun } from '../aws/boot/cleanup';
import { cleanupContextFromInvocation } from '../aws/boot/invocation';
import { invocationClients } from '../aws/runtime';
import { PartialFailureError } from '../core/errors';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { runId, runTableFromEnv } from './schemas';

const eventSchema = z.object({
  runId,
  /** Set on the Catch paths: the run is closed first, so a poller still watching one of its batches stops. */
  close: z.boolean().default(false),
});

const logger = new Logger({ service: 'boot-cleanup' });

/** Terminates every instance and deletes every volume tagged with the run, on success, failure and timeout alike. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'boot-cleanup');
  const config = configFromEnv();
  const region = config.buildRegion;
  if (input.close) await runTableFromEnv(clients, region, clock).close(input.runId);
  const report = await cleanupRun(cleanupContextFromInvocation(), input.runId);
  logger.info('boot test cleaned up', {
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
