import { EC2Client } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { launchCheck, reproTags } from '../aws/repro/checks';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { instanceJobUserData } from '../core/repro/user-data';
import { parseEvent } from '../shared/event';
import { configFromEnv, requiredEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { instanceJobScript, REPRO_ENV, reproCheck, reproNetworkFromEnv, runId } from './schemas';

const eventSchema = z.object({ runId, check: reproCheck });

const logger = new Logger({ service: 'repro-launch' });

/** Launches one check's builder instance with the instance job as user data, and the AMI snapshot's volume. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'repro-launch');
  const config = configFromEnv();
  const region = config.buildRegion;
  const userData = instanceJobUserData(instanceJobScript(), {
    bucket: requiredEnv(REPRO_ENV.reportBucket),
    instanceRoleId: requiredEnv(REPRO_ENV.instanceRoleId),
    region,
    sourceRepository: config.repro.sourceRepository,
    check: input.check,
  });
  const launched = await launchCheck(
    clients.client(EC2Client, region),
    invocationLimiter(),
    clock,
    region,
    input.check,
    reproNetworkFromEnv(),
    reproTags(config.managedTag, input.runId, input.check),
    userData,
    config.repro.scratchVolumeGiB,
  );
  logger.info('reproducibility check launched', {
    region,
    runId: input.runId,
    imageId: input.check.imageId,
    revision: input.check.revision,
    instanceId: launched.instanceId,
    volumeId: launched.volumeId,
  });
  return launched;
}
