import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod';
import { DynamoBootHistory } from '../aws/boot/history';
import { recordResults, stepFailed } from '../aws/boot/run';
import { completedResult } from '../aws/boot/runs';
import { invocationClients } from '../aws/runtime';
import type { BootStatus } from '../core/boot/result';
import { snsSubject } from '../core/sns';
import { parseEvent } from '../shared/event';
import { configFromEnv, requiredEnv } from '../shared/env';
import { currentInvocation, invocationEnv } from '../shared/invocation';
import { Logger, writeLogLine } from '../shared/logger';
import { BOOT_ENV, bootNetworkFromEnv, runId, runTableFromEnv } from './schemas';

const eventSchema = z.object({ runId });

const logger = new Logger({ service: 'boot-record' });

/**
 * Reads a run's results back from the run table, records them as history rows and metrics, and alerts on boot time
 * regressions. Returns counts only: the results stay in the run table, where the operator's CLI reads them.
 */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'boot-record');
  const config = configFromEnv();
  const region = config.buildRegion;
  const network = bootNetworkFromEnv().kind;
  const runs = runTableFromEnv(clients, region, clock);
  // The stack always names its table; an operator's local run without one measures without recording.
  const table = invocationEnv()[BOOT_ENV.historyTable];
  const history = table ? new DynamoBootHistory(clients.client(DynamoDBClient, region), table) : undefined;
  const results = (await runs.launches(input.runId)).map(
    (record) =>
      completedResult(record) ??
      stepFailed(record.spec, record.outcome, network, 'no result was recorded for this launch'),
  );
  const { rows, regressions } = await recordResults(
    { config, history, now: new Date(clock.now()), logger, emitMetric: (line) => writeLogLine(line) },
    input.runId,
    results,
  );
  const messages = regressions.map((r) => r.message ?? r.reason);
  await runs.setRegressions(input.runId, messages);
  if (messages.length)
    await clients.client(SNSClient, region).send(
      new PublishCommand({
        TopicArn: requiredEnv(BOOT_ENV.alarmTopic),
        Subject: snsSubject(`${config.notifications.subjectPrefix} boot time regression`),
        Message: messages.join('\n'),
      }),
    );
  const count = (status: BootStatus) => results.filter((r) => r.status === status).length;
  const summary = {
    launches: results.length,
    rows: rows.length,
    passed: count('passed'),
    failed: count('failed'),
    timeout: count('timeout'),
    skipped: count('skipped'),
    inconclusive: count('inconclusive'),
    regressions: messages.length,
  };
  logger.info('boot test recorded', { region, runId: input.runId, ...summary });
  return summary;
}
