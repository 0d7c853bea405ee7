import {
  DescribeImagesCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import { SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetParametersByPathCommand } from '@aws-sdk/client-ssm';
import type { ExecutionReport } from '../../bin/local/engine';
import type { ClientFactory } from '../../lambdas/aws/clients';
import { planRun, type RegionOutcome } from '../../lambdas/aws/publish/service';
import { unlimited } from '../../lambdas/aws/rate-limiter';
import { parseConfig } from '../../lambdas/core/config';
import { planCounts } from '../../lambdas/core/publish';
import { TAG, tagRecord } from '../../lambdas/core/tags';
import { DEFAULT_FLEET_SERIES, type SeededImage, seedFleet, weeklyFleet } from '../../scripts/fleet';
import { resetEmulator } from '../support/emulator';
import { type EmulatorPipeline, emulatorPipeline } from '../support/local-pipeline';
import { failCommand, type MotoGaps, throttleStorm } from './publish-moto-gaps';

const BUILD_REGION = 'us-east-1';
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'];
const SERIES = [...DEFAULT_FLEET_SERIES, '15.0-CURRENT/arm64/cloud-init/ufs', '14.3-STABLE/amd64/small/zfs'];
const configInput = {
  buildRegion: BUILD_REGION,
  regions: { allow: REGIONS },
  publish: { pollIntervalSeconds: 0 },
  bootTest: { enabled: false },
};
const config = parseConfig(configInput);

/** What the publish execution ended with: each region's outcome, from the Announce step's input. */
interface PublishOutput {
  readonly count: number;
  readonly skipped: { reason: string }[];
  readonly outcomes: RegionOutcome[];
  readonly summary?: { failedCount: number; failedRegions: string[] };
}

/** Runs the publish workflow once on the local engine and returns its report and output. */
async function publish(
  world: EmulatorPipeline,
  input: Record<string, unknown> = {},
): Promise<{ report: ExecutionReport; output: PublishOutput }> {
  const report = await world.pipeline.publish({ pollSeconds: 0, ...input }).done;
  const output = (report.output ?? JSON.parse(lastAnnounceInput(report, world))) as PublishOutput;
  return { report, output };
}

/** A failed execution has no output: its outcomes are what the Announce step received. */
function lastAnnounceInput(report: ExecutionReport, world: EmulatorPipeline): string {
  const execution = world.pipeline.engine.allExecutions().find((e) => e.executionArn === report.executionArn)!;
  const exited = execution.history.filter(
    (e) => e.type === 'TaskStateExited' && e.stateExitedEventDetails?.name === 'Announce',
  );
  return exited.at(-1)!.stateExitedEventDetails!.output!;
}

async function seedSources(clients: ClientFactory): Promise<SeededImage[]> {
  const fleet = weeklyFleet({ regions: [BUILD_REGION], series: SERIES, weeks: 1, newestBuildDate: '2026-11-20' });
  return seedFleet(clients, fleet);
}

async function ownImages(clients: ClientFactory, region: string): Promise<Image[]> {
  return (await clients.ec2(region).send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
}

async function announcementQueue(clients: ClientFactory, topicArn: string): Promise<string> {
  const queue = await clients.sqs(BUILD_REGION).send(new CreateQueueCommand({ QueueName: 'announcements' }));
  const attributes = await clients
    .sqs(BUILD_REGION)
    .send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }));
  await clients
    .sns(BUILD_REGION)
    .send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: attributes.Attributes!.QueueArn }));
  return queue.QueueUrl!;
}

async function receiveAll(clients: ClientFactory, queueUrl: string): Promise<{ Subject: string; Message: string }[]> {
  const received = await clients
    .sqs(BUILD_REGION)
    .send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  return (received.Messages ?? []).map((m) => JSON.parse(m.Body!));
}

describe('publishing 8 new images from the build region to 5 regions', () => {
  let world: EmulatorPipeline;
  let clients: ClientFactory;
  let gaps: MotoGaps;
  let sources: SeededImage[];
  let first: PublishOutput;
  let queueUrl: string;

  beforeAll(async () => {
    await resetEmulator();
    world = await emulatorPipeline(configInput);
    ({ clients, gaps } = world);
    sources = await seedSources(clients);
    queueUrl = await announcementQueue(clients, world.pipeline.announcementsTopicArn);
    first = (await publish(world)).output;
  });

  test('reports every region published, with one image per source', () => {
    expect(first.count).toBe(8);
    expect(first.outcomes.map((o) => [o.region, o.status]).sort()).toEqual(REGIONS.map((r) => [r, 'published']).sort());
    expect(first.summary).toEqual({ failedCount: 0, failedRegions: [] });
    for (const outcome of first.outcomes) expect(Object.keys(outcome.published)).toHaveLength(8);
  });

  test('makes every copy and its snapshot public and tags both with their provenance', async () => {
    for (const region of REGIONS.filter((r) => r !== BUILD_REGION)) {
      const images = await ownImages(clients, region);
      expect(images).toHaveLength(8);
      for (const image of images) {
        const source = sources.find((s) => s.name === image.Name)!;
        expect(image.Public).toBe(true);
        const tags = tagRecord(image.Tags);
        expect(tags).toMatchObject({
          'ami-pipeline:managed-by': 'ami-pipeline',
          [TAG.sourceImage]: source.imageId,
          [TAG.sourceRegion]: BUILD_REGION,
          [TAG.buildDate]: '2026-11-20',
          [TAG.gitRevision]: source.description.split('@')[1],
        });
        const snapshotId = image.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
        const permission = await clients
          .ec2(region)
          .send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' }));
        expect(permission.CreateVolumePermissions).toEqual([{ Group: 'all' }]);
        const snapshot = await clients.ec2(region).send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
        expect(tagRecord(snapshot.Snapshots![0]!.Tags)[TAG.sourceImage]).toBe(source.imageId);
      }
    }
  });

  test('makes the source images public in the build region too, snapshots included', async () => {
    const images = await ownImages(clients, BUILD_REGION);
    expect(images).toHaveLength(8);
    for (const image of images) {
      expect(image.Public).toBe(true);
      const permission = await clients.ec2(BUILD_REGION).send(
        new DescribeSnapshotAttributeCommand({
          SnapshotId: image.BlockDeviceMappings![0]!.Ebs!.SnapshotId!,
          Attribute: 'createVolumePermission',
        }),
      );
      expect(permission.CreateVolumePermissions).toEqual([{ Group: 'all' }]);
    }
  });

  test('writes one aws:ec2:image SSM parameter per series in every region, pointing at that region’s image', async () => {
    for (const region of REGIONS) {
      const parameters = await clients
        .ssm(region)
        .send(new GetParametersByPathCommand({ Path: '/ami-pipeline/freebsd', Recursive: true }));
      const images = await ownImages(clients, region);
      expect(parameters.Parameters).toHaveLength(8);
      for (const parameter of parameters.Parameters ?? []) {
        const image = images.find((i) => i.ImageId === parameter.Value)!;
        expect(image).toBeDefined();
        expect(parameter.DataType).toBe('aws:ec2:image');
        const [, , , arch, flavour, fs, version, branch] = parameter.Name!.split('/');
        expect(image.Name).toBe(`FreeBSD ${version}-${branch}-${arch}-20261120 ${flavour} ${fs!.toUpperCase()}`);
      }
    }
  });

  test('deprecates every snapshot build in every region a year after its build date', () => {
    expect(gaps.deprecations.size).toBe(8 * REGIONS.length);
    expect(new Set(gaps.deprecations.values())).toEqual(new Set(['2027-11-20T00:00:00.000Z']));
  });

  test('announces on the topic; the queue subscribed to it receives every AMI id of every region', async () => {
    const messages = await receiveAll(clients, queueUrl);

    const listed = new Set<string>();
    for (const message of messages) {
      expect(message.Subject.length).toBeLessThan(100);
      const body = JSON.parse(message.Message) as { v1: { Regions: Record<string, { ImageId: string }[]> } };
      for (const [region, entries] of Object.entries(body.v1.Regions)) {
        for (const entry of entries) listed.add(`${region}:${entry.ImageId}`);
      }
    }
    const expected = first.outcomes.flatMap((o) => Object.values(o.published).map((id) => `${o.region}:${id}`));
    expect(messages.length).toBeGreaterThan(0);
    expect([...listed].sort()).toEqual(expected.sort());
  });

  test('marks each source as published, so the next scheduled run leaves it alone', async () => {
    const images = await ownImages(clients, BUILD_REGION);
    for (const image of images) expect(tagRecord(image.Tags)[TAG.publishedAt]).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  test('a second run changes nothing and creates no duplicate, scheduled or naming the images again', async () => {
    const scheduled = await publish(world);
    const ids = sources.map((s) => s.imageId);
    const named = await publish(world, { imageIds: ids });
    const { plan } = await planRun({ config, clients, limiter: unlimited, imageIds: ids });

    expect(scheduled.report.status).toBe('SUCCEEDED');
    expect(scheduled.output.count).toBe(0);
    expect(scheduled.output.skipped.every((s) => s.reason.startsWith('published at'))).toBe(true);
    expect(named.output.outcomes.every((o) => o.status === 'published' && o.changes === 0)).toBe(true);
    expect(planCounts(plan)).toEqual({ copies: 0, actions: 0, pending: 0 });
    expect(await receiveAll(clients, queueUrl)).toEqual([]);
    for (const region of REGIONS) expect(await ownImages(clients, region)).toHaveLength(8);
  });
});

describe('a region that fails', () => {
  const failing = 'ap-southeast-2';
  let gaps: MotoGaps;

  test('is reported with its error while the other four complete', async () => {
    await resetEmulator();
    const world = await emulatorPipeline(configInput, {
      maxAttempts: 1,
      plugins: [failCommand(failing, 'CopyImage', 'UnauthorizedOperation')],
    });
    gaps = world.gaps;
    const sources = await seedSources(world.clients);

    const { report, output } = await publish(world);

    const byRegion = Object.fromEntries(output.outcomes.map((o) => [o.region, o]));
    expect(report).toMatchObject({ status: 'FAILED', error: 'PublishIncomplete' });
    expect(byRegion[failing]!.status).toBe('failed');
    expect(byRegion[failing]!.failed).toHaveLength(8);
    expect(byRegion[failing]!.failed[0]!.error).toContain('CopyImage refused');
    for (const region of REGIONS.filter((r) => r !== failing)) {
      expect(byRegion[region]!.status).toBe('published');
      expect(await ownImages(world.clients, region)).toHaveLength(8);
    }
    expect(output.summary).toEqual({ failedCount: 1, failedRegions: [failing] });
    const build = await ownImages(world.clients, BUILD_REGION);
    expect(build.every((i) => !tagRecord(i.Tags)[TAG.publishedAt])).toBe(true);
    expect(sources).toHaveLength(8);
  });

  test('is completed by the next run, which touches only what is missing', async () => {
    const world = await emulatorPipeline(configInput, { maxAttempts: 1, gaps });
    const deprecatedBefore = gaps.deprecations.size;

    const { report, output } = await publish(world);

    expect(report.status).toBe('SUCCEEDED');
    expect(output.outcomes.every((o) => o.status === 'published')).toBe(true);
    expect(output.outcomes.filter((o) => o.changes > 0).map((o) => o.region)).toEqual([failing]);
    expect(gaps.deprecations.size - deprecatedBefore).toBe(8);
    expect(await ownImages(world.clients, failing)).toHaveLength(8);
    const build = await ownImages(world.clients, BUILD_REGION);
    expect(build.every((i) => tagRecord(i.Tags)[TAG.publishedAt])).toBe(true);
  });
});

describe('a RequestLimitExceeded storm', () => {
  test('is absorbed by the SDK’s retries and the run completes', async () => {
    await resetEmulator();
    const storm = throttleStorm('eu-west-1', ['CopyImage', 'CreateTags', 'ModifyImageAttribute'], 2);
    // Standard mode: the adaptive mode's client-side rate limiter would, rightly, stretch this storm to minutes.
    const world = await emulatorPipeline(configInput, {
      retryMode: 'standard',
      maxAttempts: 8,
      plugins: [storm.plugin],
    });
    await seedSources(world.clients);

    const { report, output } = await publish(world);

    expect(storm.counter.throttled).toBe(2 * (8 + 8 + 8));
    expect(report.status).toBe('SUCCEEDED');
    expect(output.outcomes.every((o) => o.status === 'published')).toBe(true);
    expect(await ownImages(world.clients, 'eu-west-1')).toHaveLength(8);
  });
});
