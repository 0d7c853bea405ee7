import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type ExecutionStatus,
  StartExecutionCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SubscribeCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoBootHistory } from '../../lambdas/aws/boot/history';
import { ClientFactory } from '../../lambdas/aws/clients';
import { DIGEST_ENV } from '../../lambdas/aws/digest/env';
import { handler } from '../../lambdas/digest/handler';
import { CONFIG_ENV } from '../../lambdas/shared/env';
import { configureEmulator, resetEmulator } from '../support/emulator';
import { ACCOUNT, historyRow, PUBLISHED_NAMES, publishRunOutput, pruneRunOutput } from '../unit/digest-outputs';
import { createBootHistoryTable } from '../support/boot-history-table';
import { DAY_MS } from '../../lambdas/core/time';

const REGION = 'us-east-1';
const TABLE = 'boot-history';
const REPORT_BUCKET = 'reports';
const PAGE_URL = 'https://boot.example.org/';
const clients = new ClientFactory({ maxAttempts: 1 });
const sfn = clients.client(SFNClient, REGION);

/** A state machine whose one Pass state hands its input on: the execution's output is exactly what we start it with. */
const passThrough = JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } });
/** Like the publish workflow's end: the run's state reaches the Fail state after the summary. */
const failing = JSON.stringify({
  StartAt: 'Summary',
  States: {
    Summary: { Type: 'Pass', Next: 'PublishIncomplete' },
    PublishIncomplete: {
      Type: 'Fail',
      Error: 'PublishIncomplete',
      Cause: 'Some images were not published in some regions, or were given up; the run summary lists them',
    },
  },
});

interface World {
  readonly publishArn: string;
  readonly pruneArn: string;
  readonly queueUrl: string;
}

async function createMachine(name: string, definition: string): Promise<string> {
  const created = await sfn.send(
    new CreateStateMachineCommand({ name, definition, roleArn: `arn:aws:iam::${ACCOUNT}:role/${name}` }),
  );
  return created.stateMachineArn!;
}

/** Runs one execution to its end; moto 5.2.1 runs a single execution per reset, so each test starts at most one. */
async function runExecution(
  stateMachineArn: string,
  input: unknown,
): Promise<{ status: ExecutionStatus; start: Date }> {
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({ stateMachineArn, name: 'weekly', input: JSON.stringify(input) }),
  );
  let described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  for (let i = 0; i < 100 && described.status === 'RUNNING'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  }
  return { status: described.status!, start: described.startDate! };
}

async function prepareWorld(publishDefinition = passThrough): Promise<World> {
  await resetEmulator();
  await configureEmulator({ stepfunctions: { execute_state_machine: true }, lambda: { use_docker: false } });
  await createBootHistoryTable(clients.client(DynamoDBClient, REGION), TABLE);
  const topic = await clients.client(SNSClient, REGION).send(new CreateTopicCommand({ Name: 'announcements' }));
  const queue = await clients.client(SQSClient, REGION).send(new CreateQueueCommand({ QueueName: 'digest-reader' }));
  const queueArn = (
    await clients
      .client(SQSClient, REGION)
      .send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;
  await clients
    .client(SNSClient, REGION)
    .send(new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: 'sqs', Endpoint: queueArn }));
  const world = {
    publishArn: await createMachine('publish', publishDefinition),
    pruneArn: await createMachine('prune', passThrough),
    queueUrl: queue.QueueUrl!,
  };
  process.env[DIGEST_ENV.publishStateMachine] = world.publishArn;
  process.env[DIGEST_ENV.pruneStateMachine] = world.pruneArn;
  process.env[DIGEST_ENV.historyTable] = TABLE;
  process.env[DIGEST_ENV.topic] = topic.TopicArn;
  await clients.client(S3Client, REGION).send(new CreateBucketCommand({ Bucket: REPORT_BUCKET }));
  process.env[DIGEST_ENV.reportBucket] = REPORT_BUCKET;
  process.env[DIGEST_ENV.reportPageUrl] = PAGE_URL;
  return world;
}

/** The one mail that reached the topic, read back from its SQS subscriber. */
async function mailedDigest(queueUrl: string): Promise<{ Subject: string; Message: string }> {
  const received = await clients
    .client(SQSClient, REGION)
    .send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  expect(received.Messages).toHaveLength(1);
  return JSON.parse(received.Messages![0]!.Body!) as { Subject: string; Message: string };
}

const isoDate = (at: Date, daysBefore: number) =>
  new Date(at.getTime() - daysBefore * DAY_MS).toISOString().slice(0, 10);

/** Eight weekly ~11 s boots before `end`, a 23 s boot two days before it, and one row tested long ago. */
async function seedHistory(end: Date): Promise<void> {
  const history = new DynamoBootHistory(clients.client(DynamoDBClient, REGION), TABLE);
  for (let week = 8; week >= 1; week--) {
    const date = isoDate(end, 2 + week * 7);
    await history.put(historyRow(date, 11 + (week % 2) * 0.2));
  }
  const current = isoDate(end, 2);
  await history.put(historyRow(current, 23.4));
  await history.put(
    historyRow(current, undefined, { seriesKey: '15.0-CURRENT/arm64/base/ufs', instanceType: 'c7g.large' }),
  );
}

const saved = { config: process.env[CONFIG_ENV], log: process.env.LOG_LEVEL };
beforeAll(() => {
  process.env.LOG_LEVEL = 'error';
  process.env[CONFIG_ENV] = JSON.stringify({ buildRegion: REGION, notifications: { subjectPrefix: '[FreeBSD AMIs]' } });
});
afterAll(() => {
  process.env[CONFIG_ENV] = saved.config;
  process.env.LOG_LEVEL = saved.log;
  for (const name of Object.values(DIGEST_ENV)) delete process.env[name];
});

describe('weekly digest handler against the emulator', () => {
  test('reports the publish run and the boot history of the week, and says that no prune ran', async () => {
    // Prepare
    const world = await prepareWorld();
    const run = await runExecution(world.publishArn, publishRunOutput());
    expect(run.status).toBe('SUCCEEDED');
    const now = new Date(run.start.getTime() + 3_600_000);
    await seedHistory(now);

    // Act
    const result = await handler({ 'detail-type': 'Scheduled Event', time: now.toISOString() });

    // Assess
    const mail = await mailedDigest(world.queueUrl);
    expect(mail.Subject).toBe(result.subject);
    expect(mail.Subject).toBe(
      `[FreeBSD AMIs] ${now.toISOString().slice(0, 10)}: 2 published, 1/2 boots ok, 1 regression, 4 failures`,
    );
    expect(mail.Message).toContain('2 new images published to 3 regions (3 copies made), announced');
    expect(mail.Message).toContain(`    ${PUBLISHED_NAMES[0]} (in 2 of 3 regions)`);
    expect(mail.Message).toContain('Regions that failed: ap-south-1, sa-east-1');
    expect(mail.Message).toMatch(/Regressions:\n {4}15\.0-CURRENT amd64 base\/ufs on c7i\.large: 11\.\d s -> 23\.4 s/);
    expect(mail.Message).toContain('on c7g.large: timeout: port 22 never opened within 600 s');
    expect(mail.Message).toContain('No prune run finished between');
    expect(result.needsAttention).toBe(true);
    const page = await clients
      .client(S3Client, REGION)
      .send(new GetObjectCommand({ Bucket: REPORT_BUCKET, Key: 'boot/index.html' }));
    expect(page.ContentType).toBe('text/html; charset=utf-8');
    expect(await page.Body!.transformToString()).toContain('<figure class="chart" data-panel="15-0-current-amd64">');
    expect(mail.Message).toContain(`Boot-performance page (every build, every week)\n  ${PAGE_URL}`);
  });

  test('reports an executed prune run, and says that no publish ran and no boot was recorded', async () => {
    const world = await prepareWorld();
    const run = await runExecution(world.pruneArn, pruneRunOutput(true));
    const now = new Date(run.start.getTime() + 60_000);

    await handler({ time: now.toISOString() });

    const mail = await mailedDigest(world.queueUrl);
    expect(mail.Subject).toBe(`[FreeBSD AMIs] ${now.toISOString().slice(0, 10)}: 3 pruned, 1 failure`);
    expect(mail.Message).toContain('3 images were deregistered and 2 snapshots deleted, reclaiming 10 GiB.');
    expect(mail.Message).toContain('Refused by the safety breaker in: ap-south-1');
    expect(mail.Message).toContain('eu-west-1 snap-0123456789abcdef0: Throttling: DeleteSnapshot: throttled');
    expect(mail.Message).toContain('No publish run finished between');
    expect(mail.Message).toContain('No boot test was recorded between');
  });

  test('a publish run failed after its summary is reported from its final state in the history', async () => {
    const world = await prepareWorld(failing);
    const run = await runExecution(world.publishArn, publishRunOutput());
    expect(run.status).toBe('FAILED');

    const result = await handler({ time: new Date(run.start.getTime() + 60_000).toISOString() });

    const mail = await mailedDigest(world.queueUrl);
    expect(mail.Message).toContain('2 new images published to 3 regions (3 copies made)');
    expect(mail.Message).toContain(`ap-south-1 ${PUBLISHED_NAMES[1]}: copy failed: snapshot quota`);
    expect(mail.Message).toContain(`sa-east-1 ${PUBLISHED_NAMES[0]}: UnauthorizedOperation: region disabled`);
    expect(result.needsAttention).toBe(true);
  });

  test('a failed publish run whose state lists no failure is one failure naming its error', async () => {
    const world = await prepareWorld(failing);
    const run = await runExecution(world.publishArn, {});
    expect(run.status).toBe('FAILED');

    const result = await handler({ time: new Date(run.start.getTime() + 60_000).toISOString() });

    const mail = await mailedDigest(world.queueUrl);
    expect(mail.Message).toContain(
      `${REGION} execution weekly: FAILED: failed (PublishIncomplete: Some images were not published in some regions`,
    );
    expect(result.needsAttention).toBe(true);
  });

  test('executions started before the window are left out', async () => {
    const world = await prepareWorld();
    const run = await runExecution(world.publishArn, publishRunOutput());
    const eightDaysLater = new Date(run.start.getTime() + 8 * DAY_MS);

    await handler({ time: eightDaysLater.toISOString() });

    const mail = await mailedDigest(world.queueUrl);
    expect(mail.Subject).toBe(`[FreeBSD AMIs] ${eightDaysLater.toISOString().slice(0, 10)}: no activity`);
    expect(mail.Message).toContain('Nothing ran this week.');
    expect(mail.Message).toContain('No publish run finished between');
  });
});
