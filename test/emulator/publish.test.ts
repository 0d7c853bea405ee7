import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeImagesCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  type Image,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { SubscribeCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { ExecutionReport } from '../../bin/local/engine';
import type { ClientFactory, ClientPlugin } from '../../lambdas/aws/clients';
import { DynamoLedger } from '../../lambdas/aws/publish/ledger';
import {
  type AnnounceSummary,
  type FailedRegion,
  planPublishRun,
  type RegionSummary,
} from '../../lambdas/aws/publish/service';
import { unlimited } from '../../lambdas/aws/rate-limiter';
import { parseConfig } from '../../lambdas/core/config';
import type { ItemFailure } from '../../lambdas/core/errors';
import { planCounts } from '../../lambdas/core/publish';
import { TAG, tagRecord } from '../../lambdas/core/tags';
import { STACK_OUTPUTS } from '../../lib/pipeline-stack';
import { DEFAULT_FLEET_SERIES, type SeededImage, seedFleet, weeklyFleet } from '../support/fleet';
import { resetEmulator } from '../support/emulator';
import { type EmulatorPipeline, emulatorPipeline } from '../support/local-pipeline';
import type { MotoGaps } from '../support/moto-gaps';
import { failCommand, throttleStorm } from './publish-moto-gaps';
import { DAY_MS } from '../../lambdas/core/time';

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

/** What a publish execution ended with: Discover's result, each region's summary, and the run summary. */
interface PublishOutput {
  readonly count: number;
  readonly images: string[];
  readonly complete: number;
  readonly skipped: { reason: string }[];
  readonly gaveUp: ItemFailure[];
  readonly gaveUpCount: number;
  readonly outcomes?: (RegionSummary | FailedRegion)[];
  readonly summary?: AnnounceSummary;
}

/** Runs the publish workflow once on the local engine and returns its report and final state. */
async function publish(
  world: EmulatorPipeline,
  input: Record<string, unknown> = {},
): Promise<{ report: ExecutionReport; output: PublishOutput }> {
  const report = await world.pipeline.publish({ pollSeconds: 0, ...input }).done;
  return { report, output: (report.output ?? failStateInput(report, world)) as PublishOutput };
}

/** A failed execution has no output: its final state is what its Fail state received (the digest reads it so). */
function failStateInput(report: ExecutionReport, world: EmulatorPipeline): unknown {
  const execution = world.pipeline.engine.allExecutions().find((e) => e.executionArn === report.executionArn)!;
  const failed = execution.history.find((e) => e.type === 'FailStateEntered');
  return JSON.parse(failed!.stateEnteredEventDetails!.input!);
}

function regionOf(output: PublishOutput, region: string): RegionSummary & { error?: string } {
  return output.outcomes!.find((o) => o.region === region) as RegionSummary;
}

function ledgerOf(world: EmulatorPipeline): DynamoLedger {
  return new DynamoLedger(
    world.clients.client(DynamoDBClient, BUILD_REGION),
    world.pipeline.output(STACK_OUTPUTS.publishLedgerTable),
  );
}

async function statusesIn(world: EmulatorPipeline, region: string, sources: readonly string[]): Promise<string[]> {
  const rows = await ledgerOf(world).inRegion(region, sources);
  return sources.map((s) => rows.get(s)?.status ?? 'none');
}

async function seedSources(clients: ClientFactory, newestBuildDate = '2026-11-20'): Promise<SeededImage[]> {
  const fleet = weeklyFleet({ regions: [BUILD_REGION], series: SERIES, weeks: 1, newestBuildDate });
  return seedFleet(clients, fleet);
}

async function ownImages(clients: ClientFactory, region: string): Promise<Image[]> {
  return (await clients.client(EC2Client, region).send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
}

async function snapshotIsShared(clients: ClientFactory, region: string, image: Image): Promise<boolean> {
  const permission = await clients.client(EC2Client, region).send(
    new DescribeSnapshotAttributeCommand({
      SnapshotId: image.BlockDeviceMappings![0]!.Ebs!.SnapshotId!,
      Attribute: 'createVolumePermission',
    }),
  );
  return (permission.CreateVolumePermissions ?? []).some((p) => p.Group === 'all');
}

async function announcementQueue(clients: ClientFactory, topicArn: string): Promise<string> {
  const queue = await clients
    .client(SQSClient, BUILD_REGION)
    .send(new CreateQueueCommand({ QueueName: 'announcements' }));
  const attributes = await clients
    .client(SQSClient, BUILD_REGION)
    .send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }));
  await clients
    .client(SNSClient, BUILD_REGION)
    .send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: attributes.Attributes!.QueueArn }));
  return queue.QueueUrl!;
}

async function receiveAll(clients: ClientFactory, queueUrl: string): Promise<{ Subject: string; Message: string }[]> {
  const received = await clients
    .client(SQSClient, BUILD_REGION)
    .send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  return (received.Messages ?? []).map((m) => JSON.parse(m.Body!));
}

/** Bytes of the region Map's collected results in an execution. */
function mapOutputBytes(world: EmulatorPipeline, report: ExecutionReport): number {
  const execution = world.pipeline.engine.allExecutions().find((e) => e.executionArn === report.executionArn)!;
  const exit = execution.history.find(
    (e) => e.type === 'MapStateExited' && e.stateExitedEventDetails?.name === 'PublishRegions',
  )!;
  return Buffer.byteLength(JSON.stringify(JSON.parse(exit.stateExitedEventDetails!.output!).outcomes));
}

/** Counts each command per region of the functions' clients. */
function callCounter(): { readonly plugin: ClientPlugin; readonly calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const plugin: ClientPlugin = (stack, info) => {
    stack.add(
      (next, context) => async (args) => {
        const key = `${info.region}:${String(context.commandName).replace(/Command$/, '')}`;
        calls.set(key, (calls.get(key) ?? 0) + 1);
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
  };
  return { plugin, calls };
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

  test('reports every region published, each with a summary of counts, and every image by name', () => {
    expect(first.count).toBe(8);
    expect(first.outcomes!.map((o) => [o.region, o.status]).sort()).toEqual(
      REGIONS.map((r) => [r, 'published']).sort(),
    );
    for (const outcome of first.outcomes as RegionSummary[]) expect(outcome).toMatchObject({ pairs: 8, published: 8 });
    expect(first.summary).toMatchObject({ failedCount: 0, failedRegions: [], pairsPublished: 40, failures: [] });
    expect(first.summary!.published.map((p) => [p.name, p.regions, p.of]).sort()).toEqual(
      sources.map((s) => [s.name, 5, 5]).sort(),
    );
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
        expect(await snapshotIsShared(clients, region, image)).toBe(true);
        const snapshotId = image.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
        const snapshot = await clients
          .client(EC2Client, region)
          .send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
        expect(tagRecord(snapshot.Snapshots![0]!.Tags)[TAG.sourceImage]).toBe(source.imageId);
      }
    }
  });

  test('makes the source images public in the build region too, snapshots included', async () => {
    const images = await ownImages(clients, BUILD_REGION);
    expect(images).toHaveLength(8);
    for (const image of images) {
      expect(image.Public).toBe(true);
      expect(await snapshotIsShared(clients, BUILD_REGION, image)).toBe(true);
    }
  });

  test('writes one aws:ec2:image SSM parameter per series in every region, pointing at that region’s image', async () => {
    for (const region of REGIONS) {
      const parameters = await clients
        .client(SSMClient, region)
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
    const expected: string[] = [];
    for (const region of REGIONS) {
      for (const image of await ownImages(clients, region)) expected.push(`${region}:${image.ImageId}`);
    }
    expect(messages.length).toBeGreaterThan(0);
    expect([...listed].sort()).toEqual(expected.sort());
  });

  test('records every (source, region) pair published in the ledger, and puts no tag on the sources', async () => {
    const ids = sources.map((s) => s.imageId);
    for (const region of REGIONS) expect(await statusesIn(world, region, ids)).toEqual(ids.map(() => 'published'));
    const build = await ownImages(clients, BUILD_REGION);
    for (const image of build) expect(tagRecord(image.Tags)[TAG.publishedAt]).toBeUndefined();
  });

  test('a second run changes nothing and creates no duplicate, scheduled or naming the images again', async () => {
    const scheduled = await publish(world);
    const ids = sources.map((s) => s.imageId);
    const named = await publish(world, { imageIds: ids });
    const dry = await planPublishRun({ config, clients, limiter: unlimited, ledger: ledgerOf(world) });
    const dryNamed = await planPublishRun({
      config,
      clients,
      limiter: unlimited,
      imageIds: ids,
      ledger: ledgerOf(world),
    });

    expect(scheduled.report.status).toBe('SUCCEEDED');
    expect(scheduled.output).toMatchObject({ count: 0, complete: 8 });
    expect(named.report.status).toBe('SUCCEEDED');
    expect((named.output.outcomes as RegionSummary[]).every((o) => o.pairs === 8 && o.changes === 0)).toBe(true);
    expect(named.output.summary).toMatchObject({ pairsPublished: 0, messages: 0, failedCount: 0 });
    expect(dry.discovery.sources).toEqual([]);
    expect(planCounts(dryNamed.plan)).toEqual({ copies: 0, actions: 0, pending: 0 });
    expect(await receiveAll(clients, queueUrl)).toEqual([]);
    for (const region of REGIONS) expect(await ownImages(clients, region)).toHaveLength(8);
  });
});

describe('a region that fails', () => {
  const failing = 'ap-southeast-2';
  let gaps: MotoGaps;
  let sources: SeededImage[];

  test('is reported with its error in one line while the other four complete', async () => {
    await resetEmulator();
    const world = await emulatorPipeline(configInput, {
      maxAttempts: 1,
      plugins: [failCommand(failing, 'CopyImage', 'UnauthorizedOperation')],
    });
    gaps = world.gaps;
    sources = await seedSources(world.clients);

    const { report, output } = await publish(world);

    expect(report).toMatchObject({ status: 'FAILED', error: 'PublishIncomplete' });
    expect(regionOf(output, failing)).toMatchObject({ status: 'failed', pairs: 8, published: 0, failed: 8 });
    for (const region of REGIONS.filter((r) => r !== failing)) {
      expect(regionOf(output, region)).toMatchObject({ status: 'published', published: 8 });
      expect(await ownImages(world.clients, region)).toHaveLength(8);
    }
    expect(output.summary).toMatchObject({ failedCount: 8, failedPairs: 8, failedRegions: [failing] });
    expect(output.summary!.failures).toEqual([
      {
        id: expect.stringMatching(/^8 images \(FreeBSD .* and others\)$/),
        region: failing,
        error: expect.stringContaining('CopyImage refused'),
      },
    ]);
    const ids = sources.map((s) => s.imageId);
    expect(await statusesIn(world, failing, ids)).toEqual(ids.map(() => 'failed'));
  });

  test('is completed by the next run, which works only the missing pairs', async () => {
    const world = await emulatorPipeline(configInput, { maxAttempts: 1, gaps });
    const deprecatedBefore = gaps.deprecations.size;

    const { report, output } = await publish(world);

    expect(report.status).toBe('SUCCEEDED');
    expect(output.count).toBe(8);
    expect((output.outcomes as RegionSummary[]).map((o) => [o.region, o.pairs, o.status]).sort()).toEqual(
      REGIONS.map((r) => [r, r === failing ? 8 : 0, 'published']).sort(),
    );
    expect(gaps.deprecations.size - deprecatedBefore).toBe(8);
    expect(await ownImages(world.clients, failing)).toHaveLength(8);
    expect(output.summary).toMatchObject({ pairsPublished: 8, failedCount: 0 });
    const ids = sources.map((s) => s.imageId);
    expect(await statusesIn(world, failing, ids)).toEqual(ids.map(() => 'published'));
  });
});

describe('a region refusing copies week after week', () => {
  const failing = 'ap-southeast-2';
  const counter = callCounter();
  let world: EmulatorPipeline;
  let weeks: { report: ExecutionReport; output: PublishOutput }[];
  let seeded: SeededImage[][];

  beforeAll(async () => {
    await resetEmulator();
    world = await emulatorPipeline(configInput, {
      maxAttempts: 1,
      plugins: [failCommand(failing, 'CopyImage', 'ResourceLimitExceeded'), counter.plugin],
    });
    seeded = [await seedSources(world.clients, '2026-11-13')];
    weeks = [await publish(world)];
    seeded.push(await seedSources(world.clients, '2026-11-20'));
    counter.calls.clear();
    weeks.push(await publish(world));
  });

  test('retries only the missing pairs: healthy regions work this week’s images, the failing one both weeks’', () => {
    const [, second] = weeks;

    expect(second!.output.count).toBe(16);
    for (const outcome of second!.output.outcomes as RegionSummary[]) {
      expect([outcome.region, outcome.pairs]).toEqual([outcome.region, outcome.region === failing ? 16 : 8]);
    }
    expect(counter.calls.get('eu-west-1:DescribeSnapshotAttribute')).toBe(8);
  });

  test('keeps the region Map’s output the same size whatever the backlog', () => {
    const [first, second] = weeks;

    expect(mapOutputBytes(world, second!.report)).toBeLessThanOrEqual(mapOutputBytes(world, first!.report) * 1.05);
  });

  test('gives the pairs up once they pass the give-up age: reported once, then left alone', async () => {
    const later = {
      now: () => Date.now() + 29 * DAY_MS,
      sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
    };
    const aged = await emulatorPipeline(configInput, {
      maxAttempts: 1,
      gaps: world.gaps,
      clock: later,
      plugins: [failCommand(failing, 'CopyImage', 'ResourceLimitExceeded')],
    });

    const reported = await publish(aged);
    const after = await publish(aged);

    expect(reported.report).toMatchObject({ status: 'FAILED', error: 'PublishIncomplete' });
    expect(reported.output).toMatchObject({ count: 0, gaveUpCount: 16 });
    expect(reported.output.gaveUp).toEqual([
      {
        id: expect.stringMatching(/^16 images/),
        region: failing,
        error: `not published within 28 days; last error: ResourceLimitExceeded: CopyImage refused in ${failing} (injected)`,
        code: 'GaveUp',
      },
    ]);
    expect(after.report.status).toBe('SUCCEEDED');
    expect(after.output).toMatchObject({ count: 0, gaveUpCount: 0, complete: 16 });
    const ids = seeded.flat().map((s) => s.imageId);
    expect(await statusesIn(aged, failing, ids)).toEqual(ids.map(() => 'gave-up'));
  });
});

describe('completion without the build region', () => {
  test('a run whose regions leave out the build region records what it published, with no tag on the sources', async () => {
    await resetEmulator();
    // AWS refuses to tag a source that lacks the managed tag; nothing in the run may need to.
    const world = await emulatorPipeline(
      { ...configInput, regions: { allow: ['us-west-2', 'eu-west-1'] } },
      { maxAttempts: 1, plugins: [failCommand(BUILD_REGION, 'CreateTags', 'UnauthorizedOperation')] },
    );
    await seedSources(world.clients);

    const first = await publish(world);
    const again = await publish(world);

    expect(first.report.status).toBe('SUCCEEDED');
    expect(again.report.status).toBe('SUCCEEDED');
    expect(again.output).toMatchObject({ count: 0, complete: 8 });
  });
});

describe('aws:ec2:image parameters validated asynchronously', () => {
  test('a write that did not take is reported, and the next run writes it again', async () => {
    await resetEmulator();
    // SSM answers 200 and then drops the write, as a failed asynchronous validation does.
    const dropWrites: ClientPlugin = (stack, info) => {
      if (info.service !== 'ssm' || info.region !== 'eu-west-1') return;
      stack.add(
        (next, context) => async (args) =>
          context.commandName === 'PutParameterCommand'
            ? ({ output: { $metadata: {}, Version: 1 }, response: {} } as never)
            : next(args),
        { step: 'initialize', name: 'dropWrites' },
      );
    };
    const world = await emulatorPipeline(configInput, { maxAttempts: 1, plugins: [dropWrites] });
    const sources = await seedSources(world.clients);

    const dropped = await publish(world);
    const healthy = await emulatorPipeline(configInput, { maxAttempts: 1, gaps: world.gaps });
    const rewritten = await publish(healthy);

    expect(dropped.report.status).toBe('FAILED');
    expect(regionOf(dropped.output, 'eu-west-1')).toMatchObject({ status: 'failed', published: 0, failed: 8 });
    expect(dropped.output.summary!.failures[0]).toMatchObject({
      region: 'eu-west-1',
      error: expect.stringContaining('did not take'),
    });
    expect(rewritten.report.status).toBe('SUCCEEDED');
    expect(regionOf(rewritten.output, 'eu-west-1')).toMatchObject({ pairs: 8, published: 8 });
    const ids = sources.map((s) => s.imageId);
    expect(await statusesIn(healthy, 'eu-west-1', ids)).toEqual(ids.map(() => 'published'));
  });
});

describe('snapshot block public access', () => {
  const region = 'eu-west-1';

  test('block-new-sharing: images public, snapshots private and reported, completed once it is lifted', async () => {
    await resetEmulator();
    const world = await emulatorPipeline(configInput, { maxAttempts: 1 });
    world.gaps.snapshotBlockPublicAccess.set(region, 'block-new-sharing');
    await seedSources(world.clients);

    const blocked = await publish(world);
    const images = await ownImages(world.clients, region);
    const shared = await Promise.all(images.map((i) => snapshotIsShared(world.clients, region, i)));
    world.gaps.snapshotBlockPublicAccess.set(region, 'unblocked');
    const lifted = await publish(world);

    expect(blocked.report.status).toBe('FAILED');
    expect(regionOf(blocked.output, region)).toMatchObject({ status: 'failed', failed: 8 });
    expect(regionOf(blocked.output, region).notes).toContainEqual(
      expect.stringContaining('snapshot block public access is block-new-sharing'),
    );
    expect(images.every((i) => i.Public)).toBe(true);
    expect(shared).toEqual(images.map(() => false));
    expect(lifted.report.status).toBe('SUCCEEDED');
    expect(regionOf(lifted.output, region)).toMatchObject({ pairs: 8, published: 8 });
    for (const image of await ownImages(world.clients, region)) {
      expect(await snapshotIsShared(world.clients, region, image)).toBe(true);
    }
  });

  test('block-all-sharing: a snapshot whose attribute says all is not reported public on a re-check', async () => {
    const world = await emulatorPipeline(configInput, { maxAttempts: 1 });
    world.gaps.snapshotBlockPublicAccess.set(region, 'block-all-sharing');
    const ids = (await ownImages(world.clients, BUILD_REGION)).map((i) => i.ImageId!);

    const recheck = await publish(world, { imageIds: ids });

    expect(recheck.report.status).toBe('FAILED');
    expect(regionOf(recheck.output, region)).toMatchObject({ status: 'failed', failed: 8 });
    expect(recheck.output.summary!.failures[0]!.error).toContain('block-all-sharing');
    expect(await statusesIn(world, region, ids)).toEqual(ids.map(() => 'failed'));
  });
});

describe('a RequestLimitExceeded storm', () => {
  test('is absorbed by the SDK’s retries and the run completes', async () => {
    await resetEmulator();
    const storm = throttleStorm('eu-west-1', ['CopyImage', 'CreateTags', 'ModifyImageAttribute'], 1);
    // Standard mode: the adaptive mode's client-side rate limiter would, rightly, stretch this storm to minutes.
    const world = await emulatorPipeline(configInput, {
      retryMode: 'standard',
      maxAttempts: 8,
      plugins: [storm.plugin],
    });
    await seedSources(world.clients);

    const { report, output } = await publish(world);

    expect(storm.counter.throttled).toBe(8 + 8 + 8);
    expect(report.status).toBe('SUCCEEDED');
    expect(output.outcomes!.every((o) => o.status === 'published')).toBe(true);
    expect(await ownImages(world.clients, 'eu-west-1')).toHaveLength(8);
  });
});
