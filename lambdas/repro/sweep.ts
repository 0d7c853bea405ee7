import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { sweepTestResources } from '../aws/boot/cleanup';
import { cleanupContextFromInvocation } from '../aws/boot/invocation';
import { invocationClients } from '../aws/runtime';
import { snsSubject } from '../core/sns';
import { TAG } from '../core/tags';
import { configFromEnv, requiredEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { REPRO_ENV } from './schemas';

const logger = new Logger({ service: 'repro-sweep' });

/** An hour past a check's budget and grace: a run that still owns the instance has ended it by then. */
export const SWEEP_MARGIN_MINUTES = 60;

/** Scheduled: removes check instances and volumes older than any check can be, and reports any it found. */
export async function handler() {
  const clients = invocationClients();
  const clock = currentInvocation().clock;
  const config = configFromEnv();
  const region = config.buildRegion;
  const ageMinutes = config.repro.timeBudgetMinutes + config.repro.graceMinutes + SWEEP_MARGIN_MINUTES;
  const report = await sweepTestResources(
    cleanupContextFromInvocation({ tagKey: TAG.repro }),
    new Date(clock.now() - ageMinutes * 60_000),
  );
  if (report.found.length) {
    const lines = report.found.map((r) => `${r.kind} ${r.id} (run ${r.runId ?? '?'}, created ${r.createdAt})`);
    await clients.client(SNSClient, region).send(
      new PublishCommand({
        TopicArn: requiredEnv(REPRO_ENV.alarmTopic),
        Subject: snsSubject(`${config.notifications.subjectPrefix} reproducibility leftovers swept`),
        Message: `The sweeper found check resources older than ${ageMinutes} minutes:\n${lines.join('\n')}\n${report.failed.length ? `Not removed: ${JSON.stringify(report.failed)}` : ''}`,
      }),
    );
  }
  logger.info('check resources swept', { region, found: report.found, failed: report.failed });
  return { found: report.found.length, terminated: report.terminated.length, failed: report.failed };
}
