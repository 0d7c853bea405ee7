import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { pollCheck } from '../aws/repro/checks';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { checkOutputsFromEnv, launchedCheck, reproCheck } from './schemas';

const eventSchema = z.object({ check: reproCheck, launch: launchedCheck });

const logger = new Logger({ service: 'repro-poll' });

/** One look at a running check; the state machine waits the returned seconds between looks, never a Lambda. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'repro-poll');
  const config = configFromEnv();
  const region = config.buildRegion;
  const poll = await pollCheck(
    clients.client(EC2Client, region),
    clients.client(S3Client, region),
    invocationLimiter(),
    clock,
    region,
    checkOutputsFromEnv(input.check, input.launch.instanceId),
    input.check,
    input.launch,
    { pollSeconds: config.repro.pollIntervalSeconds, graceMinutes: config.repro.graceMinutes },
  );
  logger.info('reproducibility check polled', {
    region,
    imageId: input.check.imageId,
    instanceId: input.launch.instanceId,
    ...poll,
  });
  return poll;
}
