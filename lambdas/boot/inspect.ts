import { EC2Client } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { terminateInstances } from '../aws/boot/cleanup';
import { DEFAULT_WAITS, inspectLaunch, stepFailed } from '../aws/boot/run';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import type { BootRunResult, CheckResult } from '../core/boot/result';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { bootNetworkFromEnv, checkResult, launchAddress, probeObservation, runTableFromEnv } from './schemas';

const eventSchema = z.object({
  ...launchAddress,
  observation: probeObservation().optional(),
  hotplug: checkResult().optional(),
  recheck: z.object({ open: z.boolean(), reason: z.string() }).optional(),
  /** A Catch of the Map iteration hands over the error of the step that failed for good. */
  failure: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});

const logger = new Logger({ service: 'boot-inspect' });

/** Step Functions' Cause of a Lambda failure is the runtime's JSON (`errorMessage`), or plain text otherwise. */
function causeMessage(cause: string | undefined): string {
  if (!cause) return 'no cause given';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}

/**
 * Judges one launch: reads the console, runs the stop check, takes the probe's observation and the hot-plug result,
 * records the result in the run table and terminates the instance, so its vCPUs are free for launches still waiting.
 * Called from a Catch, it records the failed step instead.
 */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const limiter = invocationLimiter();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'boot-inspect');
  const config = configFromEnv();
  const region = config.buildRegion;
  const ec2 = clients.client(EC2Client, region);
  const network = bootNetworkFromEnv().kind;
  const runs = runTableFromEnv(clients, region, clock);
  const record = await runs.launch(input.runId, input);
  const launch = record.outcome?.status === 'launched' ? record.outcome : undefined;
  let result: BootRunResult;
  if (input.failure || !launch || !input.observation) {
    const why = input.failure
      ? `${input.failure.Error}: ${causeMessage(input.failure.Cause)}`
      : 'the launch reached its inspection without an instance or a probe observation';
    result = stepFailed(record.spec, record.outcome, network, `a workflow step failed after its retries: ${why}`);
  } else {
    const hotplug: CheckResult | undefined =
      input.hotplug && input.recheck && !input.recheck.open
        ? {
            ...input.hotplug,
            passed: false,
            reason: `after ${input.hotplug.cycles} cycles: port 22 lost: ${input.recheck.reason}`,
          }
        : input.hotplug;
    result = await inspectLaunch(
      { config, ec2, limiter, clock, region, waits: DEFAULT_WAITS },
      {
        runId: input.runId,
        network,
        spec: record.spec,
        launch,
        probe: input.observation,
        runningAt: record.running?.runningAt,
        hotplug,
      },
    );
  }
  await runs.setResult(input.runId, input, result);
  if (launch) {
    const ended = await terminateInstances({ ec2, limiter, region }, [launch.instanceId]);
    // Left running, the instance is terminated by the batch's cleanup; only the vCPUs come back later.
    if (ended.failed.length) logger.warn('instance not terminated yet', { region, failed: ended.failed });
  }
  logger.info('boot judged', { region, key: result.key, status: result.status, reason: result.reason });
  return { key: result.key, status: result.status };
}
