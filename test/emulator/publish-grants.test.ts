import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { ClientFactory } from '../../lambdas/aws/clients';
import { DynamoLedger, LEDGER_KEYS } from '../../lambdas/aws/publish/ledger';
import {
  type FinalizeResult,
  finalizeRegion,
  pollRegion,
  prepareRegion,
  publishContext,
  type RegionProgress,
  type RegionSummary,
  verifyParameters,
} from '../../lambdas/aws/publish/service';
import { realClock, unlimited } from '../../lambdas/aws/rate-limiter';
import { runInvocation } from '../../lambdas/shared/invocation';
import { parseConfig } from '../../lambdas/core/config';
import type { PipelineFunction } from '../../lib/pipeline-function';
import { seedFleet, weeklyFleet } from '../support/fleet';
import { synthesizePublishWorkflow } from '../cdk/publish-synth';
import { type IamEnforcingEmulator, type PolicyStatement, startIamEnforcingEmulator } from '../support/iam';
import { coverMotoGaps } from '../support/moto-gaps';

// Each publish handler runs against an emulator that enforces IAM actions, under a user carrying exactly the
// statements synthesized for that function; the tag conditions of those statements are asserted in test/cdk.
const REGIONS = ['us-east-1', 'eu-west-1'];
const configInput = { buildRegion: 'us-east-1', regions: { allow: REGIONS }, publish: { pollIntervalSeconds: 0 } };
const config = parseConfig(configInput);
const synth = synthesizePublishWorkflow(configInput);
const LEDGER_TABLE = 'publish-ledger';
const RUN = 'grants-run';
type Handler = (event: unknown) => Promise<unknown>;

function statementsOf(fn: PipelineFunction): PolicyStatement[] {
  const roleId = synth.stack.getLogicalId(fn.role!.node.defaultChild as never);
  const policy = Object.values(synth.templateJson.Resources).find(
    (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
  )!;
  return (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement;
}

/** A handler run as the function would run it: the restricted user's clients, the function's environment. */
function loadHandler(
  file: string,
  emulator: IamEnforcingEmulator,
  env: Record<string, string> = {},
): Handler & { clients: ClientFactory } {
  const clients = new ClientFactory({ endpoint: emulator.server.endpoint, credentials: emulator.restricted });
  coverMotoGaps(clients, REGIONS);
  const handler: Handler = require(`../../lambdas/publish/${file}`).handler;
  const invocation = {
    functionName: `Publish/${file}`,
    env: { AMI_PIPELINE_CONFIG: JSON.stringify(config), PUBLISH_LEDGER_TABLE: LEDGER_TABLE, ...env },
    clock: realClock,
    remainingMs: () => 300_000,
    services: { clients, limiter: unlimited },
  };
  const invoke: Handler = (event) => runInvocation(invocation, () => handler(event));
  return Object.assign(invoke, { clients });
}

/** An admin context on the same emulator, to seed state and run the steps before the one under test. */
function adminContext(emulator: IamEnforcingEmulator) {
  const clients = new ClientFactory({
    endpoint: emulator.server.endpoint,
    credentials: emulator.admin,
    maxAttempts: 1,
  });
  coverMotoGaps(clients, REGIONS);
  return publishContext({
    config,
    clients,
    limiter: unlimited,
    ledger: new DynamoLedger(clients.client(DynamoDBClient, 'us-east-1'), LEDGER_TABLE),
  });
}

async function seed(emulator: IamEnforcingEmulator): Promise<string[]> {
  const ctx = adminContext(emulator);
  await ctx.clients.client(DynamoDBClient, 'us-east-1').send(
    new CreateTableCommand({
      TableName: LEDGER_TABLE,
      KeySchema: [
        { AttributeName: LEDGER_KEYS.partition, KeyType: 'HASH' },
        { AttributeName: LEDGER_KEYS.sort, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: LEDGER_KEYS.partition, AttributeType: 'S' },
        { AttributeName: LEDGER_KEYS.sort, AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const fleet = weeklyFleet({
    regions: ['us-east-1'],
    series: ['15.0-CURRENT/amd64/base/ufs', '14.3-STABLE/arm64/cloud-init/zfs'],
    weeks: 1,
    newestBuildDate: '2026-11-20',
  });
  return (await seedFleet(ctx.clients, fleet)).map((s) => s.imageId);
}

async function copiedProgress(
  emulator: IamEnforcingEmulator,
  images: string[],
  region: string,
): Promise<RegionProgress> {
  const ctx = adminContext(emulator);
  const prepared = await prepareRegion(ctx, { region, images, pollSeconds: 0, runId: RUN });
  return pollRegion(ctx, prepared);
}

describe('grants synthesized for the publish handlers cover every call they make', () => {
  let emulator: IamEnforcingEmulator;
  afterEach(async () => {
    await emulator?.server.stop();
  });

  test('discover', async () => {
    emulator = await startIamEnforcingEmulator(statementsOf(synth.workflow.discoverFunction));
    await seed(emulator);
    const handler = loadHandler('discover', emulator);

    const result = (await handler({ start: { selection: { regions: REGIONS }, pollSeconds: 0 }, runId: RUN })) as {
      count: number;
    };
    const again = (await handler({ start: { selection: { regions: REGIONS }, pollSeconds: 0 }, runId: RUN })) as {
      count: number;
    };

    expect(result.count).toBe(2);
    expect(again.count).toBe(2);
  });

  test('prepare, in the build region and in another region', async () => {
    emulator = await startIamEnforcingEmulator(statementsOf(synth.workflow.prepareFunction));
    const images = await seed(emulator);
    const handler = loadHandler('prepare', emulator);

    const remote = (await handler({ region: 'eu-west-1', images, pollSeconds: 0, runId: RUN })) as RegionProgress;
    const build = (await handler({ region: 'us-east-1', images, pollSeconds: 0, runId: RUN })) as RegionProgress;

    expect(remote.failure).toBeUndefined();
    expect(remote.copies.map((c) => c.state)).toEqual(['copying', 'copying']);
    expect(build.failure).toBeUndefined();
  });

  test('prepare fails its region, without throwing, under another function’s EC2 grants', async () => {
    const ledgerOnly = statementsOf(synth.workflow.prepareFunction).filter((s) =>
      [s.Action].flat().some((a) => a.startsWith('dynamodb:')),
    );
    emulator = await startIamEnforcingEmulator([...statementsOf(synth.workflow.discoverFunction), ...ledgerOnly]);
    const images = await seed(emulator);
    const handler = loadHandler('prepare', emulator);

    const progress = (await handler({ region: 'eu-west-1', images, pollSeconds: 0, runId: RUN })) as RegionProgress;

    expect(progress.failure).toMatch(/could not be read/);
  });

  test('poll, including deregistering a failed copy and copying it again', async () => {
    emulator = await startIamEnforcingEmulator(statementsOf(synth.workflow.pollFunction));
    const images = await seed(emulator);
    const prepared = await prepareRegion(adminContext(emulator), {
      region: 'eu-west-1',
      images,
      pollSeconds: 0,
      runId: RUN,
    });
    const handler = loadHandler('poll', emulator);
    const failed = prepared.copies[0]!.imageId!;
    const admin = adminContext(emulator).clients.client(EC2Client, 'eu-west-1');
    const described = await admin.send(new DescribeImagesCommand({ ImageIds: [failed] }));
    const failedSnapshots = described.Images![0]!.BlockDeviceMappings!.map((m) => m.Ebs!.SnapshotId!);
    // The emulator's copies never fail; this one is reported failed, as EC2 reports a broken copy.
    handler.clients.client(EC2Client, 'eu-west-1').middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const output = result.output as { Images?: { ImageId?: string; State?: string }[] };
        for (const image of output.Images ?? []) if (image.ImageId === failed) image.State = 'failed';
        return result;
      },
      { step: 'initialize', name: 'reportCopyFailed' },
    );

    const next = (await handler(prepared)) as RegionProgress;

    const retried = next.copies.find((c) => c.source === prepared.copies[0]!.source)!;
    expect(retried).toMatchObject({ state: 'copying', attempt: 2 });
    expect(retried.imageId).not.toBe(failed);
    expect(next.copies.filter((c) => c.state === 'available')).toHaveLength(1);
    const left = await adminContext(emulator)
      .clients.client(EC2Client, 'eu-west-1')
      .send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'image-id', Values: [failed] }] }));
    expect(left.Images).toEqual([]);
    const snapshotsLeft = await admin.send(
      new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: failedSnapshots }] }),
    );
    expect(failedSnapshots).toHaveLength(1);
    expect(snapshotsLeft.Snapshots).toEqual([]);
  });

  test('finalize, in the build region and in another region', async () => {
    emulator = await startIamEnforcingEmulator(statementsOf(synth.workflow.finalizeFunction));
    const images = await seed(emulator);
    const remote = await copiedProgress(emulator, images, 'eu-west-1');
    const build = await copiedProgress(emulator, images, 'us-east-1');
    const handler = loadHandler('finalize', emulator);

    const results = [(await handler(remote)) as FinalizeResult, (await handler(build)) as FinalizeResult];

    for (const { summary, verify } of results) {
      expect(summary).toMatchObject({ status: 'published', failed: 0 });
      expect(summary.changes).toBeGreaterThan(0);
      expect(verify?.parameters).toHaveLength(2);
    }
  });

  test('verify', async () => {
    emulator = await startIamEnforcingEmulator(statementsOf(synth.workflow.verifyFunction));
    const images = await seed(emulator);
    const admin = adminContext(emulator);
    const finalized = await finalizeRegion(admin, await copiedProgress(emulator, images, 'eu-west-1'));
    const handler = loadHandler('verify', emulator);

    const summary = (await handler(finalized)) as RegionSummary;

    expect(summary).toMatchObject({ status: 'published', published: 2, failed: 0 });
  });

  test('announce', async () => {
    emulator = await startIamEnforcingEmulator(statementsOf(synth.workflow.announceFunction));
    const images = await seed(emulator);
    const admin = adminContext(emulator);
    const topic = await admin.clients
      .client(SNSClient, 'us-east-1')
      .send(new CreateTopicCommand({ Name: 'announcements' }));
    const outcomes = [];
    for (const region of REGIONS) {
      const finalized = await finalizeRegion(admin, await copiedProgress(emulator, images, region));
      outcomes.push(await verifyParameters(admin, finalized));
    }
    // A region whose iteration failed outright is recorded against each of its pairs.
    outcomes.push({ region: 'ap-south-1', status: 'failed' as const, error: 'Task timed out after 300.00 seconds' });
    const handler = loadHandler('announce', emulator, { ANNOUNCEMENT_TOPIC_ARN: topic.TopicArn! });

    const result = (await handler({ runId: RUN, regions: [...REGIONS, 'ap-south-1'], images, outcomes })) as {
      messages: number;
      failedPairs: number;
    };

    expect(result).toMatchObject({ messages: 2, failedPairs: 2 });
  });
});
