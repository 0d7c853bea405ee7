import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { DynamoBootHistory } from '../aws/boot/history';
import { invocationClients } from '../aws/runtime';
import { DIGEST_ENV } from '../aws/digest/env';
import { DigestIncompleteError, runDigest } from '../aws/digest/service';
import { configFromEnv, requiredEnv } from '../shared/env';
import { parseEvent } from '../shared/event';
import { currentInvocation, invocationEnv } from '../shared/invocation';
import { DynamoReproHistory } from '../aws/repro/history';
import { Logger } from '../shared/logger';

const eventSchema = z.object({
  /** The scheduled event's time ends the reported week; a manual invocation may pass another one. */
  time: z.iso.datetime({ offset: true }).optional(),
});

const logger = new Logger({ service: 'digest' });

/** The reproducibility history and report bucket, when the stack gives them to the digest. */
function reproHistoryFromEnv(clients: ReturnType<typeof invocationClients>, region: string) {
  const env = invocationEnv();
  const table = env[DIGEST_ENV.reproHistoryTable];
  const bucket = env[DIGEST_ENV.reportBucket];
  if (!table || !bucket) return undefined;
  return {
    history: new DynamoReproHistory(clients.client(DynamoDBClient, region), table),
    location: { bucket, region },
  };
}

/** Gathers the past week, renders the digest and publishes it to the announcements topic. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event ?? {}, 'digest');
  const config = configFromEnv();
  const historyTable = requiredEnv(DIGEST_ENV.historyTable);
  const result = await runDigest({
    config,
    clients,
    now: input.time ? new Date(input.time) : new Date(clock.now()),
    logger,
    publishStateMachineArn: requiredEnv(DIGEST_ENV.publishStateMachine),
    pruneStateMachineArn: requiredEnv(DIGEST_ENV.pruneStateMachine),
    auditStateMachineArn: invocationEnv()[DIGEST_ENV.auditStateMachine],
    history: new DynamoBootHistory(clients.client(DynamoDBClient, config.buildRegion), historyTable),
    topicArn: requiredEnv(DIGEST_ENV.topic),
    bootPage: { bucket: requiredEnv(DIGEST_ENV.reportBucket), url: requiredEnv(DIGEST_ENV.reportPageUrl) },
    repro: reproHistoryFromEnv(clients, config.buildRegion),
  });
  logger.info('digest sent', {
    subject: result.digest.subject,
    needsAttention: result.digest.needsAttention,
    messageId: result.messageId,
    window: result.window,
  });
  if (result.unreadable.length) throw new DigestIncompleteError(`digest sent without: ${result.unreadable.join('; ')}`);
  return {
    subject: result.digest.subject,
    text: result.digest.text,
    needsAttention: result.digest.needsAttention,
    messageId: result.messageId,
  };
}
