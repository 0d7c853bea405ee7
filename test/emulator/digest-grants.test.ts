import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  StartExecutionCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { DynamoBootHistory, HISTORY_KEYS } from '../../lambdas/aws/boot/history';
import { ClientFactory } from '../../lambdas/aws/clients';
import { runDigest } from '../../lambdas/aws/digest/service';
import { parseConfig } from '../../lambdas/core/config';
import { Notifications } from '../../lib/notifications';
import { WeeklyDigest } from '../../lib/weekly-digest';
import { ReportBucket } from '../../lib/report-bucket';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type IamEnforcingEmulator, type PolicyStatement, startIamEnforcingEmulator } from '../support/iam';
import { ACCOUNT, historyRow, publishRunOutput } from '../unit/digest-outputs';
import { createBootHistoryTable } from '../support/boot-history-table';
import { DAY_MS } from '../../lambdas/core/time';

const REGION = 'us-east-1';
const config = parseConfig({ buildRegion: REGION });

/** The digest role's statements, synthesized from the construct beside stand-ins for what it reads. */
function digestStatements(): PolicyStatement[] {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'DigestGrants', { env: { account: ACCOUNT, region: REGION } });
  const notifications = new Notifications(stack, 'Notifications', { emails: [], alarmEmails: [] });
  const machine = (id: string) =>
    new sfn.StateMachine(stack, id, {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, `${id}Pass`)),
    });
  const bootHistory = new dynamodb.Table(stack, 'History', {
    partitionKey: { name: HISTORY_KEYS.partition, type: dynamodb.AttributeType.STRING },
    sortKey: { name: HISTORY_KEYS.sort, type: dynamodb.AttributeType.STRING },
  });
  new WeeklyDigest(stack, 'Digest', {
    config,
    notifications,
    publishStateMachine: machine('Publish'),
    pruneStateMachine: machine('Prune'),
    bootHistory,
    reports: new ReportBucket(stack, 'Reports'),
    bootPageUrl: 'https://reports.example/',
  });
  const resources = (
    app.synth().getStackByName('DigestGrants').template as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    }
  ).Resources;
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => /DigestFunction/.test(r.Ref)))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
}

describe('synthesized digest grants cover every call the digest makes', () => {
  const statements = digestStatements();
  let emulator: IamEnforcingEmulator | undefined;
  afterEach(async () => {
    await emulator?.server.stop();
    emulator = undefined;
  });

  /** A publish execution that ran, an idle prune state machine, a history row and the topic, made as admin. */
  async function seed(admin: ClientFactory) {
    await emulator!.server.configure({ stepfunctions: { execute_state_machine: true } });
    const machine = async (name: string, definition: string) =>
      (
        await admin.client(SFNClient, REGION).send(
          new CreateStateMachineCommand({
            name,
            definition,
            roleArn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
          }),
        )
      ).stateMachineArn!;
    // The publish run fails after its summary, as the workflow does when a region failed, so that reading its
    // final state from the history is part of what the grants must cover.
    const publishArn = await machine(
      'publish',
      JSON.stringify({
        StartAt: 'Summary',
        States: {
          Summary: { Type: 'Pass', Next: 'Incomplete' },
          Incomplete: { Type: 'Fail', Error: 'PublishIncomplete' },
        },
      }),
    );
    const pruneArn = await machine(
      'prune',
      JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }),
    );
    const { executionArn } = await admin.client(SFNClient, REGION).send(
      new StartExecutionCommand({
        stateMachineArn: publishArn,
        name: 'weekly',
        input: JSON.stringify(publishRunOutput()),
      }),
    );
    let described = await admin.client(SFNClient, REGION).send(new DescribeExecutionCommand({ executionArn }));
    for (let i = 0; i < 100 && described.status === 'RUNNING'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      described = await admin.client(SFNClient, REGION).send(new DescribeExecutionCommand({ executionArn }));
    }
    await createBootHistoryTable(admin.client(DynamoDBClient, REGION), 'history');
    const now = new Date(described.startDate!.getTime() + 60_000);
    await new DynamoBootHistory(admin.client(DynamoDBClient, REGION), 'history').put(
      historyRow(new Date(now.getTime() - DAY_MS).toISOString().slice(0, 10), 11),
    );
    const topic = await admin.client(SNSClient, REGION).send(new CreateTopicCommand({ Name: 'announcements' }));
    await admin.client(S3Client, REGION).send(new CreateBucketCommand({ Bucket: 'reports' }));
    return { publishArn, pruneArn, topicArn: topic.TopicArn!, now };
  }

  async function digestWith(granted: readonly PolicyStatement[]) {
    emulator = await startIamEnforcingEmulator(granted);
    const factory = (credentials: IamEnforcingEmulator['admin']) =>
      new ClientFactory({ endpoint: emulator!.server.endpoint, credentials, maxAttempts: 1 });
    const world = await seed(factory(emulator.admin));
    const restricted = factory(emulator.restricted);
    return runDigest({
      config,
      clients: restricted,
      now: world.now,
      publishStateMachineArn: world.publishArn,
      pruneStateMachineArn: world.pruneArn,
      history: new DynamoBootHistory(restricted.client(DynamoDBClient, REGION), 'history'),
      topicArn: world.topicArn,
      bootPage: { bucket: 'reports', url: 'https://reports.example/' },
    });
  }

  test('with exactly its role the digest reads every part and is published', async () => {
    const result = await digestWith(statements);

    expect(result.unreadable).toEqual([]);
    expect(result.messageId).toBeDefined();
    expect(result.digest.text).toContain('2 new images published');
    expect(result.digest.text).toContain('1 boot: 1 passed');
    expect(result.digest.text).toContain('Boot-performance page (every build, every week)\n  https://reports.example/');
    const admin = new ClientFactory({
      endpoint: emulator!.server.endpoint,
      credentials: emulator!.admin,
      maxAttempts: 1,
    });
    const page = await admin
      .client(S3Client, REGION)
      .send(new GetObjectCommand({ Bucket: 'reports', Key: 'boot/index.html' }));
    expect(page.ContentType).toBe('text/html; charset=utf-8');
    expect(await page.Body!.transformToString()).toContain('<figure class="chart"');
  });

  test('without DescribeExecution and GetExecutionHistory the publish part is named unreadable and the digest still goes out', async () => {
    const result = await digestWith(statements.filter((s) => s.Sid !== 'DescribeExecutionsOfReportedWorkflows'));

    // moto answers the denial in XML to this JSON-protocol API, so the SDK reports a parse error, not AccessDenied;
    // that only publish is unreadable (the idle prune state machine needs no DescribeExecution) shows the denial.
    expect(result.unreadable).toEqual([expect.stringMatching(/^publish executions: /)]);
    expect(result.digest.text).toContain('Could not be read\n  publish executions: ');
    expect(result.messageId).toBeDefined();
  });
});
