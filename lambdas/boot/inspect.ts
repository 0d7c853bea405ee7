import { z } from 'zod';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import { currentInvocation } from '../shared/invocation';
import { DEFAULT_WAITS, inspectLaunch } from '../aws/boot/run';
import type { CheckResult } from '../core/boot/result';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { Logger } from '../shared/logger';
import { bootNetworkFromEnv, checkResult, launchedInstance, launchSpec, probeObservation, runId } from './schemas';

const eventSchema = z.object({
  runId,
  spec: launchSpec(),
  launch: launchedInstance(),
  probe: probeObservation(),
  running: z.object({ runningAt: z.record(z.string(), z.number()) }),
  hotplug: checkResult().optional(),
  recheck: z.object({ open: z.boolean(), reason: z.string() }).optional(),
});

const logger = new Logger({ service: 'boot-inspect' });

/** Reads the console, runs the stop check and judges one boot; the port re-check after hot-plug comes in the event. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const limiter = invocationLimiter();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'boot-inspect');
  const config = configFromEnv();
  const hotplug: CheckResult | undefined =
    input.hotplug && input.recheck && !input.recheck.open
      ? {
          ...input.hotplug,
          passed: false,
          reason: `after ${input.hotplug.cycles} cycles: port 22 lost: ${input.recheck.reason}`,
        }
      : input.hotplug;
  const result = await inspectLaunch(
    {
      config,
      ec2: clients.ec2(config.buildRegion),
      limiter,
      clock: clock,
      region: config.buildRegion,
      waits: DEFAULT_WAITS,
    },
    {
      runId: input.runId,
      network: bootNetworkFromEnv().kind,
      spec: input.spec,
      launch: input.launch,
      probe: input.probe,
      runningAt: input.running.runningAt[input.launch.instanceId],
      hotplug,
    },
  );
  logger.info('boot inspected', {
    region: config.buildRegion,
    key: result.key,
    status: result.status,
    reason: result.reason,
  });
  return result;
}
