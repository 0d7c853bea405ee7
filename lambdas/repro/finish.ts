import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { cleanupReproRun, readCheckOutputs } from '../aws/repro/checks';
import { DynamoReproHistory } from '../aws/repro/history';
import { invocationClients } from '../aws/runtime';
import { PartialFailureError } from '../core/errors';
import { historyRow } from '../core/repro/history';
import { judgeCheck } from '../core/repro/summary';
import { parseEvent } from '../shared/event';
import { configFromEnv, requiredEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { cleanupContextFromInvocation } from '../aws/boot/invocation';
import { checkOutputsFromEnv, launchedCheck, REPRO_ENV, reproCheck, runId } from './schemas';

const eventSchema = z.object({
  runId,
  check: reproCheck,
  /** The launched instance; absent when the launch itself failed (then no instance wrote anything). */
  launch: launchedCheck.optional(),
  /** Why the wait ended; absent when a step of the check failed (then `failure` says what). */
  ended: z.enum(['reported', 'instance-ended', 'timeout']).optional(),
  failure: z.string().optional(),
});

const logger = new Logger({ service: 'repro-finish' });

/**
 * Ends one check whatever happened: terminates its instance and deletes its volumes, reads what the instance left
 * in the bucket, judges it and records the result in the history. Returns the few fields the run's output lists.
 */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'repro-finish');
  const config = configFromEnv();
  const region = config.buildRegion;
  const cleanup = await cleanupReproRun(cleanupContextFromInvocation(), input.runId, input.check);
  const folder = input.launch && checkOutputsFromEnv(input.check, input.launch.instanceId);
  const outputs = folder ? await readCheckOutputs(clients.client(S3Client, region), folder) : {};
  const outcome = judgeCheck({
    ...outputs,
    ended: input.ended ?? 'instance-ended',
    failure: outputs.summaryText === undefined ? input.failure : undefined,
  });
  const row = historyRow(input.check, outcome, input.runId, new Date(clock.now()), folder?.folder);
  await new DynamoReproHistory(clients.client(DynamoDBClient, region), requiredEnv(REPRO_ENV.historyTable)).put(row);
  logger.info('reproducibility check finished', {
    region,
    runId: input.runId,
    imageId: input.check.imageId,
    status: outcome.status,
    differingFiles: outcome.differingFiles,
    terminated: cleanup.terminated,
    volumesDeleted: cleanup.volumesDeleted,
  });
  if (cleanup.failed.length)
    throw new PartialFailureError(
      `check ${input.check.key} left ${cleanup.failed.length} resource(s); the run's cleanup and the sweeper retry`,
      cleanup.failed,
    );
  return {
    imageId: input.check.imageId,
    lineKey: input.check.lineKey,
    revision: input.check.revision,
    status: outcome.status,
    differingFiles: outcome.differingFiles,
    topPaths: outcome.topPaths.slice(0, 5),
    reason: outcome.reason.slice(0, 300),
    report: row.reportPrefix,
  };
}
