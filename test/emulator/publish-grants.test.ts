import { DescribeImagesCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { ClientFactory } from '../../lambdas/aws/clients';
import {
  finalizeRegion,
  pollRegion,
  prepareRegion,
  publishContext,
  type RegionOutcome,
  type RegionProgress,
} from '../../lambdas/aws/publish/service';
import { realClock, unlimited } from '../../lambdas/aws/rate-limiter';
import { runInvocation } from '../../lambdas/shared/invocation';
import { parseConfig } from '../../lambdas/core/config';
import type { PipelineFunction } from '../../lib/pipeline-function';
import { seedFleet, weeklyFleet } from '../../scripts/fleet';
import { synthesizePublishWorkflow } from '../cdk/publish-synth';
import { type IamEnforcingEmulator, type PolicyStatement, startIamEnforcingEmulator } from '../support/iam';
import { coverMotoGaps } from './publish-moto-gaps';

// Each publish handler runs against an emulator that enforces IAM actions, under a user carrying exactly the
// statements synthesized for that function; the tag conditions of those statements are asserted in test/cdk.
const REGIONS = ['us-east-1', 'eu-west-1'];
const configInput = { buildRegion: 'us-east-1', regions: { allow: REGIONS }, publish: { pollIntervalSeconds: 0 } };
const config = parseConfig(configInput);
const synth = synthesizePublishWorkflow(configInput);
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
    env: { AMI_PIPELINE_CONFIG: JSON.stringify(config), ...env },
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
  return publishContext({ config, clients, limiter: unlimited });
}

async function seed(emulator: IamEnforcingEmulator): Promise<string[]> {
  const ctx = adminContext(emulator);
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
  const prepared = await prepareRegion(ctx, { region, images, pollSeconds: 0 });
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

    const result = (await handler({ selection: { regions: REGIONS }, pollSeconds: 0 })) as { count: number };

    expect(result.count).toBe(2);
  });

  test('prepare, in the build region and in another region', async () => {
    emulator = await startIamEnforcingEmulator(statementsOf(synth.workflow.prepareFunction));
    const images = await seed(emulator);
    const handler = loadHandler('prepare', emulator);

    const remote = (await handler({ region: 'eu-west-1', images, pollSeconds: 0 })) as RegionProgress;
    const build = (await handler({ region: 'us-east-1', images, pollSeconds: 0 })) as RegionProgress;

    expect(remote.failure).toBeUndefined();
    expect(remote.copies.map((c) => c.state)).toEqual(['copying', 'copying']);
    expect(build.failure).toBeUndefined();
  });

  test('prepare fails its region, without throwing, under another function’s grants', async () => {
    emulator = await startIamEnforcingEmulator(statementsOf(synth.workflow.discoverFunction));
    const images = await seed(emulator);
    const handler = loadHandler('prepare', emulator);

    const progress = (await handler({ region: 'eu-west-1', images, pollSeconds: 0 })) as RegionProgress;

    expect(progress.failure).toMatch(/could not be read/);
  });

  test('poll, including deregistering a failed copy and copying it again', async () => {
    emulator = await startIamEnforcingEmulator(statementsOf(synth.workflow.pollFunction));
    const images = await seed(emulator);
    const prepared = await prepareRegion(adminContext(emulator), { region: 'eu-west-1', images, pollSeconds: 0 });
    const handler = loadHandler('poll', emulator);
    const failed = prepared.copies[0]!.imageId!;
    const admin = adminContext(emulator).clients.ec2('eu-west-1');
    const described = await admin.send(new DescribeImagesCommand({ ImageIds: [failed] }));
    const failedSnapshots = described.Images![0]!.BlockDeviceMappings!.map((m) => m.Ebs!.SnapshotId!);
    // The emulator's copies never fail; this one is reported failed, as EC2 reports a broken copy.
    handler.clients.ec2('eu-west-1').middlewareStack.add(
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
      .clients.ec2('eu-west-1')
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

    const outcomes = [(await handler(remote)) as RegionOutcome, (await handler(build)) as RegionOutcome];

    for (const outcome of outcomes) {
      expect(outcome.failed).toEqual([]);
      expect(outcome.status).toBe('published');
      expect(outcome.changes).toBeGreaterThan(0);
    }
  });

  test('announce', async () => {
    emulator = await startIamEnforcingEmulator(statementsOf(synth.workflow.announceFunction));
    const images = await seed(emulator);
    const admin = adminContext(emulator);
    const topic = await admin.clients.sns('us-east-1').send(new CreateTopicCommand({ Name: 'announcements' }));
    const outcomes = [];
    for (const region of REGIONS)
      outcomes.push(await finalizeRegion(admin, await copiedProgress(emulator, images, region)));
    const handler = loadHandler('announce', emulator, { ANNOUNCEMENT_TOPIC_ARN: topic.TopicArn! });

    const result = (await handler({ images, outcomes })) as {
      messages: number;
      markedPublished: number;
      failedCount: number;
    };

    expect(result).toMatchObject({ messages: 2, markedPublished: 2, failedCount: 0 });
  });
});
