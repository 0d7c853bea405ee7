import { PublishCommand } from '@aws-sdk/client-sns';
import { z } from 'zod';
import { invocationClients } from '../aws/runtime';
import { currentInvocation, invocationEnv } from '../shared/invocation';
import { DynamoBootHistory } from '../aws/boot/history';
import { recordResults } from '../aws/boot/run';
import { snsSubject } from '../core/sns';
import { parseEvent } from '../shared/event';
import { configFromEnv, requiredEnv } from '../shared/env';
import { Logger, writeLogLine } from '../shared/logger';
import { BOOT_ENV, bootRunResult, runId } from './schemas';

const eventSchema = z.object({
  runId,
  rounds: z.array(z.object({ results: z.array(bootRunResult()), notLaunched: z.array(bootRunResult()) })),
});

const logger = new Logger({ service: 'boot-record' });

/** Records a run's results as history rows and metrics, and alerts on boot time regressions. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'boot-record');
  const config = configFromEnv();
  const region = config.buildRegion;
  // The stack always names its table; an operator's local run without one measures without recording.
  const table = invocationEnv()[BOOT_ENV.historyTable];
  const history = table ? new DynamoBootHistory(clients.dynamodb(region), table) : undefined;
  const results = input.rounds.flatMap((round) => [...round.results, ...round.notLaunched]);
  const { rows, regressions } = await recordResults(
    { config, history, now: new Date(clock.now()), logger, emitMetric: (line) => writeLogLine(line) },
    input.runId,
    results,
  );
  if (regressions.length)
    await clients.sns(region).send(
      new PublishCommand({
        TopicArn: requiredEnv(BOOT_ENV.alarmTopic),
        Subject: snsSubject(`${config.notifications.subjectPrefix} boot time regression`),
        Message: regressions.map((r) => r.message).join('\n'),
      }),
    );
  const failed = rows.filter((r) => r.status === 'failed' || r.status === 'timeout');
  logger.info('boot test recorded', {
    region,
    runId: input.runId,
    rows: rows.length,
    failed: failed.length,
    regressions: regressions.length,
  });
  return {
    rows: rows.map((r) => ({
      series: r.seriesKey,
      instanceType: r.instanceType,
      status: r.status,
      bootSeconds: r.median.bootSeconds,
      reason: r.reason,
    })),
    regressions: regressions.map((r) => r.message),
  };
}
