import {
  DescribeImagesCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetParametersByPathCommand } from '@aws-sdk/client-ssm';
import { ClientFactory } from '../../lambdas/aws/clients';
import { type PublishResult, planRun, runPublish } from '../../lambdas/aws/publish/service';
import { unlimited } from '../../lambdas/aws/rate-limiter';
import { parseConfig } from '../../lambdas/core/config';
import { planCounts } from '../../lambdas/core/publish';
import { TAG, tagRecord } from '../../lambdas/core/tags';
import { DEFAULT_FLEET_SERIES, type SeededImage, seedFleet, weeklyFleet } from '../../scripts/fleet';
import { resetEmulator } from '../support/emulator';
import { coverMotoGaps, failCommand, type MotoGaps, throttleStorm } from './publish-moto-gaps';

const BUILD_REGION = 'us-east-1';
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'];
const SERIES = [...DEFAULT_FLEET_SERIES, '15.0-CURRENT/arm64/cloud-init/ufs', '14.3-STABLE/amd64/small/zfs'];
const NOW = new Date('2026-11-21T06:00:00Z');
const config = parseConfig({
  buildRegion: BUILD_REGION,
  regions: { allow: REGIONS },
  publish: { pollIntervalSeconds: 0 },
});
const noSleep = async () => undefined;

async function seedSources(clients: ClientFactory): Promise<SeededImage[]> {
  const fleet = weeklyFleet({ regions: [BUILD_REGION], series: SERIES, weeks: 1, newestBuildDate: '2026-11-20' });
  return seedFleet(clients, fleet);
}

async function ownImages(clients: ClientFactory, region: string): Promise<Image[]> {
  return (await clients.ec2(region).send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
}

async function announcementQueue(clients: ClientFactory): Promise<{ topicArn: string; queueUrl: string }> {
  const topic = await clients.sns(BUILD_REGION).send(new CreateTopicCommand({ Name: 'announcements' }));
  const queue = await clients.sqs(BUILD_REGION).send(new CreateQueueCommand({ QueueName: 'announcements' }));
  const attributes = await clients
    .sqs(BUILD_REGION)
    .send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }));
  await clients
    .sns(BUILD_REGION)
    .send(
      new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: 'sqs', Endpoint: attributes.Attributes!.QueueArn }),
    );
  return { topicArn: topic.TopicArn!, queueUrl: queue.QueueUrl! };
}

async function receiveAll(clients: ClientFactory, queueUrl: string): Promise<{ Subject: string; Message: string }[]> {
  const received = await clients
    .sqs(BUILD_REGION)
    .send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  return (received.Messages ?? []).map((m) => JSON.parse(m.Body!));
}

describe('publishing 8 new images from the build region to 5 regions', () => {
  const clients = new ClientFactory({ maxAttempts: 2 });
  const gaps = coverMotoGaps(clients, REGIONS);
  let sources: SeededImage[];
  let first: PublishResult;
  let queueUrl: string;
  let topicArn: string;

  beforeAll(async () => {
    await resetEmulator();
    sources = await seedSources(clients);
    const announcements = await announcementQueue(clients);
    queueUrl = announcements.queueUrl;
    topicArn = announcements.topicArn;
    first = await runPublish({
      config,
      clients,
      now: () => NOW,
      limiter: unlimited,
      sleep: noSleep,
      topicArn: announcements.topicArn,
    });
  });

  test('reports every region published, with one image per source', () => {
    expect(first.sources).toHaveLength(8);
    expect(first.outcomes.map((o) => [o.region, o.status]).sort()).toEqual(REGIONS.map((r) => [r, 'published']).sort());
    expect(first.failures).toEqual([]);
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
    for (const image of images) expect(tagRecord(image.Tags)[TAG.publishedAt]).toBe(NOW.toISOString());
  });

  test('a second run changes nothing and creates no duplicate, scheduled or naming the images again', async () => {
    const scheduled = await runPublish({ config, clients, now: () => NOW, limiter: unlimited, sleep: noSleep });
    const ids = sources.map((s) => s.imageId);
    const named = await runPublish({
      config,
      clients,
      now: () => NOW,
      limiter: unlimited,
      sleep: noSleep,
      imageIds: ids,
      topicArn,
    });
    const { plan } = await planRun({ config, clients, now: () => NOW, limiter: unlimited, imageIds: ids });

    expect(scheduled.sources).toEqual([]);
    expect(scheduled.skipped.every((s) => s.reason.startsWith('published at'))).toBe(true);
    expect(named.outcomes.every((o) => o.status === 'published' && o.changes === 0)).toBe(true);
    expect(planCounts(plan)).toEqual({ copies: 0, actions: 0, pending: 0 });
    expect(named.announcement?.messages).toBe(0);
    for (const region of REGIONS) expect(await ownImages(clients, region)).toHaveLength(8);
  });
});

describe('a region that fails', () => {
  const failing = 'ap-southeast-2';
  let gaps: MotoGaps;

  test('is reported with its error while the other four complete', async () => {
    await resetEmulator();
    const clients = new ClientFactory({ maxAttempts: 1 });
    gaps = coverMotoGaps(clients, REGIONS);
    failCommand(clients, failing, 'CopyImage', 'UnauthorizedOperation');
    const sources = await seedSources(clients);

    const result = await runPublish({ config, clients, now: () => NOW, limiter: unlimited, sleep: noSleep });

    const byRegion = Object.fromEntries(result.outcomes.map((o) => [o.region, o]));
    expect(byRegion[failing]!.status).toBe('failed');
    expect(byRegion[failing]!.failed).toHaveLength(8);
    expect(byRegion[failing]!.failed[0]!.error).toContain('CopyImage refused');
    for (const region of REGIONS.filter((r) => r !== failing)) {
      expect(byRegion[region]!.status).toBe('published');
      expect(await ownImages(clients, region)).toHaveLength(8);
    }
    expect(result.failures.filter((f) => f.region === failing)).toHaveLength(8);
    expect(result.announcement?.markedPublished).toEqual([]);
    const build = await ownImages(clients, BUILD_REGION);
    expect(build.every((i) => !tagRecord(i.Tags)[TAG.publishedAt])).toBe(true);
    expect(sources).toHaveLength(8);
  });

  test('is completed by the next run, which touches only what is missing', async () => {
    const clients = new ClientFactory({ maxAttempts: 1 });
    coverMotoGaps(clients, REGIONS, gaps);
    const deprecatedBefore = gaps.deprecations.size;

    const result = await runPublish({ config, clients, now: () => NOW, limiter: unlimited, sleep: noSleep });

    expect(result.outcomes.every((o) => o.status === 'published')).toBe(true);
    expect(result.outcomes.filter((o) => o.changes > 0).map((o) => o.region)).toEqual([failing]);
    expect(gaps.deprecations.size - deprecatedBefore).toBe(8);
    expect(await ownImages(clients, failing)).toHaveLength(8);
    expect(result.announcement?.markedPublished).toHaveLength(8);
  });
});

describe('a RequestLimitExceeded storm', () => {
  test('is absorbed by the SDK’s retries and the run completes', async () => {
    await resetEmulator();
    // Standard mode: the adaptive mode's client-side rate limiter would, rightly, stretch this storm to minutes.
    const clients = new ClientFactory({ retryMode: 'standard' });
    coverMotoGaps(clients, REGIONS);
    const storm = throttleStorm(clients, 'eu-west-1', ['CopyImage', 'CreateTags', 'ModifyImageAttribute'], 2);
    await seedSources(clients);

    const result = await runPublish({ config, clients, now: () => NOW, limiter: unlimited, sleep: noSleep });

    expect(storm.throttled).toBe(2 * (8 + 8 + 8));
    expect(result.outcomes.every((o) => o.status === 'published')).toBe(true);
    expect(await ownImages(clients, 'eu-west-1')).toHaveLength(8);
  });
});
