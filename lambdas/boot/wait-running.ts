import { EC2Client } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { watchBatchRunning } from '../aws/boot/instances';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { launchAddress, runTableFromEnv } from './schemas';

const eventSchema = z.object({ runId: launchAddress.runId, batch: launchAddress.batch });

const logger = new Logger({ service: 'boot-wait-running' });
/** Two DescribeInstances calls a second per batch, whatever its size: a tenth of EC2's non-mutating bucket. */
const POLL_MS = 500;
/** An invocation hands over to the next one this long before its timeout. */
const HANDOVER_MS = 60_000;

/**
 * Watches pending -> running for the instances of one batch while their probes run, one DescribeInstances call per
 * poll for all of them, and records when each was first seen running. Ends when the batch has settled, or hands
 * over to a next invocation before its own timeout (`finished: false`).
 */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const limiter = invocationLimiter();
  const invocation = currentInvocation();
  const clock = invocation.clock;
  const input = parseEvent(eventSchema, event, 'boot-wait-running');
  const config = configFromEnv();
  const region = config.buildRegion;
  const remaining = invocation.remainingMs();
  const stopAt = clock.now() + (Number.isFinite(remaining) ? Math.max(POLL_MS, remaining - HANDOVER_MS) : 840_000);
  const watch = await watchBatchRunning(
    { ec2: clients.client(EC2Client, region), limiter, clock, region, runs: runTableFromEnv(clients, region, clock) },
    input,
    { pollMs: POLL_MS, stopAt },
  );
  logger.info('batch watched', { region, runId: input.runId, batch: input.batch, ...watch });
  return watch;
}
