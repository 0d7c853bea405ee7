import { EC2Client } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { bootTestTags, type LaunchOutcome, launchWithinLimits, limitWait } from '../aws/boot/instances';
import { notLaunched } from '../aws/boot/run';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import type { LaunchSpec } from '../core/boot/plan';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { bootNetworkFromEnv, launchAddress, runTableFromEnv } from './schemas';

const eventSchema = z.object(launchAddress);

const logger = new Logger({ service: 'boot-launch' });
/** Time kept for a last RunInstances (with the SDK's retries) and for recording it. */
const LAUNCH_MARGIN_MS = 90_000;

/** What the next states of the Map iteration need of a launch: the probe's target and the checks planned. */
function forNextStates(spec: LaunchSpec, outcome: LaunchOutcome) {
  if (outcome.status !== 'launched') return { launched: false, status: outcome.status };
  return {
    launched: true,
    instance: {
      instanceId: outcome.instanceId,
      host: outcome.privateIp ?? '',
      availabilityZone: outcome.availabilityZone ?? '',
      instanceType: spec.instanceType,
      imageId: spec.imageId,
      seriesKey: spec.seriesKey,
      hotplugCycles: spec.checks.hotplugCycles,
    },
  };
}

/**
 * Launches one planned instance, read from the run table by its batch and slot, and records what RunInstances did.
 * Launches of a batch start together, so each waits its turn in RunInstances' 2-per-second bucket; a launch refused
 * for the account's vCPU limit waits for other test instances to end, then is skipped, never failed.
 */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const limiter = invocationLimiter();
  const invocation = currentInvocation();
  const clock = invocation.clock;
  const input = parseEvent(eventSchema, event, 'boot-launch');
  const config = configFromEnv();
  const region = config.buildRegion;
  const network = bootNetworkFromEnv();
  const runs = runTableFromEnv(clients, region, clock);
  const record = await runs.launch(input.runId, input);
  // A retried invocation after the launch was recorded: the same instance, never a second one.
  if (record.outcome) return forNextStates(record.spec, record.outcome);
  await clock.sleep((input.slot - 1) * limiter.intervalMs('RunInstances'));
  const outcome = await launchWithinLimits(
    {
      ec2: clients.client(EC2Client, region),
      limiter,
      clock,
      network,
      // Never past the function's own timeout: a launch still refused then is skipped, not timed out.
      wait: limitWait(
        Math.max(0, Math.min(config.bootTest.vcpuWaitSeconds * 1000, invocation.remainingMs() - LAUNCH_MARGIN_MS)),
      ),
    },
    record.spec,
    bootTestTags(config.managedTag, input.runId, record.spec),
  );
  await runs.setOutcome(input.runId, input, outcome);
  if (outcome.status !== 'launched')
    await runs.setResult(input.runId, input, notLaunched(record.spec, outcome, network.kind));
  logger.info('instance launched', {
    region,
    runId: input.runId,
    key: record.spec.key,
    status: outcome.status,
    reason: outcome.reason,
  });
  return forNextStates(record.spec, outcome);
}
