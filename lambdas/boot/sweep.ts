import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { cleanupContextFromInvocation } from '../aws/boot/invocation';
import { invocationClients } from '../aws/runtime';
import { currentInvocation } from '../shared/invocation';
import { sweepTestResources } from '../aws/boot/cleanup';
import { snsSubject } from '../core/sns';
import { configFromEnv, requiredEnv } from '../shared/env';
import { Logger } from '../shared/logger';
import { BOOT_ENV } from './schemas';

const logger = new Logger({ service: 'boot-sweep' });

/** Scheduled: removes tagged test instances and volumes older than the bound, and reports any it found. */
export async function handler() {
  const clients = invocationClients();
  const clock = currentInvocation().clock;
  const config = configFromEnv();
  const region = config.buildRegion;
  const olderThan = new Date(clock.now() - config.bootTest.sweepAfterMinutes * 60_000);
  const report = await sweepTestResources(cleanupContextFromInvocation(), olderThan);
  if (report.found.length) {
    const lines = report.found.map(
      (r) => `${r.kind} ${r.id} (run ${r.runId ?? '?'}, created ${r.createdAt}, ${r.state})`,
    );
    await clients.client(SNSClient, region).send(
      new PublishCommand({
        TopicArn: requiredEnv(BOOT_ENV.alarmTopic),
        Subject: snsSubject(`${config.notifications.subjectPrefix} boot test leftovers swept`),
        Message: `The sweeper found test resources older than ${config.bootTest.sweepAfterMinutes} minutes:\n${lines.join('\n')}\n${report.failed.length ? `Not removed: ${JSON.stringify(report.failed)}` : ''}`,
      }),
    );
  }
  logger.info('test resources swept', { region, found: report.found, failed: report.failed });
  return {
    found: report.found.length,
    terminated: report.terminated.length,
    volumesDeleted: report.volumesDeleted.length,
    failed: report.failed,
  };
}
