import * as z from 'zod';
import { PartialFailureError } from '../core/errors';
import { cleanupReproRun } from '../aws/repro/checks';
import { parseEvent } from '../shared/event';
import { Logger } from '../shared/logger';
import { cleanupContextFromInvocation } from '../aws/boot/invocation';
import { runId } from './schemas';

const eventSchema = z.object({ runId });

const logger = new Logger({ service: 'repro-cleanup' });

/** Terminates every instance and deletes every volume tagged with the run, on success, failure and timeout alike. */
export async function handler(event: unknown) {
  const input = parseEvent(eventSchema, event, 'repro-cleanup');
  const ctx = cleanupContextFromInvocation();
  const { region } = ctx;
  const report = await cleanupReproRun(ctx, input.runId);
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
