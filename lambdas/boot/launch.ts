import { z } from 'zod';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { currentInvocation } from '../shared/invocation';
import { launchRound, notLaunched } from '../aws/boot/run';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { Logger } from '../shared/logger';
import { bootNetworkFromEnv, launchSpec, runId } from './schemas';

const eventSchema = z.object({ runId, launches: z.array(launchSpec()).min(1) });

const logger = new Logger({ service: 'boot-launch' });

/** Launches one round of test instances into the test subnets; capacity refusals come back as skipped. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const limiter = invocationLimiter();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'boot-launch');
  const config = configFromEnv();
  const network = bootNetworkFromEnv();
  const ec2 = clients.ec2(config.buildRegion);
  const outcomes = await launchRound(config, ec2, limiter, clock, input.runId, input.launches, network);
  const launched = input.launches.flatMap((spec, i) => {
    const launch = outcomes[i]!;
    return launch.status === 'launched' ? [{ spec, launch, host: launch.privateIp ?? '' }] : [];
  });
  const notStarted = input.launches.flatMap((spec, i) =>
    outcomes[i]!.status === 'launched' ? [] : [notLaunched(spec, outcomes[i]!, network.kind)],
  );
  logger.info('round launched', {
    region: config.buildRegion,
    runId: input.runId,
    launched: launched.length,
    notLaunched: notStarted.map((r) => ({ key: r.key, status: r.status, reason: r.reason })),
  });
  return { launched, notLaunched: notStarted, instanceIds: launched.map((l) => l.launch.instanceId) };
}
