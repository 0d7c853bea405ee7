import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotAttributeCommand,
  DescribeVolumesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { CycleOutcome } from '../../bin/local/cycle';
import { DynamoBootHistory } from '../../lambdas/aws/boot/history';
import { ClientFactory } from '../../lambdas/aws/clients';
import { DynamoLedger } from '../../lambdas/aws/publish/ledger';
import { freebsdProfile, type ParsedImageName } from '../../lambdas/core/naming';
import { STACK_OUTPUTS } from '../../lib/pipeline-stack';
import {
  createDemoWorld,
  DEMO_BOOT_MS,
  DEMO_BUILD_REGION,
  DEMO_REGIONS,
  DEMO_SERIES,
  type DemoWorld,
  runDemoCycle,
} from '../../scripts/demo-world';
import { resetEmulator } from '../support/emulator';
import { chromiumPath, NO_CHROMIUM, visitPage } from '../support/browser';
import { DAY_MS } from '../../lambdas/core/time';

/** Every message the mailing-list queue holds, drained. */
async function drain(clients: ClientFactory, queueUrl: string): Promise<{ Subject?: string; Message: string }[]> {
  const messages: { Subject?: string; Message: string }[] = [];
  for (;;) {
    const batch = await clients
      .client(SQSClient, DEMO_BUILD_REGION)
      .send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }));
    if (!batch.Messages?.length) return messages;
    messages.push(...batch.Messages.map((m) => JSON.parse(m.Body!) as { Subject?: string; Message: string }));
  }
}

async function ownImages(clients: ClientFactory, region: string) {
  return (await clients.client(EC2Client, region).send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
}

describe('a whole weekly cycle on the emulator', () => {
  const clients = new ClientFactory({ maxAttempts: 3 });
  let world: DemoWorld;
  let first: CycleOutcome;
  let mail: { Subject?: string; Message: string }[];

  const cycle = () => runDemoCycle(world);

  beforeAll(async () => {
    await resetEmulator();
    world = await createDemoWorld(clients, new Date());
    first = await cycle();
    mail = await drain(clients, world.queueUrl);
  });
  afterAll(() => world?.hosts.close());

  test('runs every part on the stack’s own state machines without a failure', () => {
    expect(first.executions.map((e) => [e.workflow, e.status])).toEqual([
      ['publish', 'SUCCEEDED'],
      ['boot-test', 'SUCCEEDED'],
      ['audit', 'SUCCEEDED'],
      ['prune', 'SUCCEEDED'],
    ]);
    expect(first.digestError).toBeUndefined();
  });

  test('publishes each new build to every region, public, with its snapshot public', async () => {
    for (const region of DEMO_REGIONS) {
      const images = await ownImages(clients, region);
      for (const fresh of world.fresh) {
        const copy = images.find((i) => i.Name === fresh.name);
        expect(copy).toBeDefined();
        const launch = await clients
          .client(EC2Client, region)
          .send(new DescribeImageAttributeCommand({ ImageId: copy!.ImageId!, Attribute: 'launchPermission' }));
        expect(launch.LaunchPermissions).toContainEqual({ Group: 'all' });
        const snapshotId = String(copy!.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId);
        const volume = await clients
          .client(EC2Client, region)
          .send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: 'createVolumePermission' }));
        expect(volume.CreateVolumePermissions).toContainEqual({ Group: 'all' });
      }
    }
  });

  test('points the SSM parameters of every region at this week’s build there', async () => {
    for (const region of DEMO_REGIONS) {
      const images = await ownImages(clients, region);
      const parameters = await clients
        .client(SSMClient, region)
        .send(new GetParametersByPathCommand({ Path: world.config.publish.ssmPrefix, Recursive: true }));
      for (const fresh of world.fresh) {
        const parsed = freebsdProfile.parse(fresh.name) as ParsedImageName;
        const name = freebsdProfile.ssmParameterName(world.config.publish.ssmPrefix, parsed);
        const copy = images.find((i) => i.Name === fresh.name)!;
        expect(parameters.Parameters?.find((p) => p.Name === name)?.Value).toBe(copy.ImageId);
      }
    }
  });

  test("announces the new AMI ids of every region in the uploader's v1 format and mails one digest, linking the boot page", async () => {
    const digests = mail.filter((m) => m.Subject === first.digest?.subject);
    const announced = new Set<string>();
    for (const message of mail.filter((m) => m.Subject !== first.digest?.subject)) {
      const v1 = (JSON.parse(message.Message) as { v1: { Regions: Record<string, { ImageId: string }[]> } }).v1;
      for (const [region, images] of Object.entries(v1.Regions))
        for (const image of images) announced.add(`${region} ${image.ImageId}`);
    }

    expect(digests).toHaveLength(1);
    expect(digests[0]!.Message).toContain(
      `Boot-performance page (every build, every week)\n  ${world.pipeline.output(STACK_OUTPUTS.bootPageUrl)}`,
    );
    for (const region of DEMO_REGIONS) {
      const images = await ownImages(clients, region);
      for (const fresh of world.fresh)
        expect(announced).toContain(`${region} ${images.find((i) => i.Name === fresh.name)!.ImageId}`);
    }
  });

  test('boot-tests each new build on every instance type of its architecture and flags only the slow series', async () => {
    const history = new DynamoBootHistory(
      clients.client(DynamoDBClient, DEMO_BUILD_REGION),
      world.pipeline.bootHistoryTable,
    );
    const fresh = new Set(world.fresh.map((i) => i.imageId));
    const rows = (await history.list()).filter((r) => fresh.has(r.imageId));
    const types = world.config.bootTest.instanceTypes;
    const regressions = first.digest!.text.split('\n').filter((line) => / s -> .* s between /.test(line));

    expect(rows).toHaveLength(DEMO_SERIES.length * 3);
    for (const row of rows) {
      const arch = row.seriesKey.split('/')[1] as 'amd64' | 'arm64';
      expect(types[arch]).toContain(row.instanceType);
      expect(row.status).toBe('passed');
    }
    expect(regressions).toHaveLength(3);
    for (const line of regressions) {
      const [, before, after] =
        /^\s*15\.0-CURRENT arm64 base\/zfs on c\dg\.large: (\d+\.\d) s -> (\d+\.\d) s between main@\w+ and main@\w+$/.exec(
          line,
        ) ?? [];
      expect(Number(before)).toBeLessThan(0.5);
      expect(Number(after)).toBeGreaterThanOrEqual(DEMO_BOOT_MS.slow / 1000 - 0.1);
    }
  });

  test('leaves no test instance or volume behind', async () => {
    const ec2 = clients.client(EC2Client, DEMO_BUILD_REGION);
    const instances = await ec2.send(new DescribeInstancesCommand({}));
    const live = (instances.Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .filter((i) => i.State?.Name !== 'terminated');
    const volumes = await ec2.send(new DescribeVolumesCommand({}));

    expect(live).toEqual([]);
    expect(volumes.Volumes ?? []).toEqual([]);
  });

  test('prunes exactly the builds past both the newest-four and the 90-day rules, in every region', async () => {
    for (const region of DEMO_REGIONS) {
      const survivors = new Set((await ownImages(clients, region)).map((i) => i.Name));
      for (const image of world.published.filter((i) => i.region === region)) {
        const parsed = freebsdProfile.parse(image.name) as ParsedImageName;
        const ageDays = (world.now.getTime() - Date.parse(`${parsed.buildDate}T00:00:00Z`)) / DAY_MS;
        expect([image.name, survivors.has(image.name)]).toEqual([
          image.name,
          ageDays < world.config.retention.minAgeDays,
        ]);
      }
    }
    expect(first.digest?.text).toContain(`${DEMO_REGIONS.length * DEMO_SERIES.length * 4} images were deregistered`);
  });

  const browserTest = chromiumPath() ? test : test.skip;
  if (!chromiumPath()) console.warn(`boot-performance page in a browser: ${NO_CHROMIUM}`);
  browserTest(
    `the boot-performance page of the week’s history draws every plot, rings the regression, loads nothing and logs no error in Chromium${chromiumPath() ? '' : ` (${NO_CHROMIUM})`}`,
    async () => {
      // Prepare: the page the cycle's digest wrote to the stack's report bucket from the week's history
      const bucket = world.pipeline.output(STACK_OUTPUTS.reportBucket);
      const written = await clients
        .client(S3Client, DEMO_BUILD_REGION)
        .send(new GetObjectCommand({ Bucket: bucket, Key: 'boot/index.html' }));
      const dir = join(__dirname, '..', '..', 'test-artifacts', 'boot-report');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'index.html');
      writeFileSync(file, await written.Body!.transformToString());

      // Act
      const visit = await visitPage<{ panel: string; width: number; boots: number; regressions: string[] }[]>(
        pathToFileURL(file).href,
        `[...document.querySelectorAll('figure.chart')].map((figure) => ({
          panel: figure.getAttribute('data-panel'),
          width: figure.querySelector('svg')?.getBoundingClientRect().width ?? 0,
          boots: figure.querySelectorAll('g.boots_marks path').length,
          regressions: [...figure.querySelectorAll('g.regressions_marks path')].map(
            (mark) => mark.querySelector('title')?.textContent ?? '',
          ),
        }))`,
        { screenshot: join(dir, 'screenshot.png') },
      );

      // Assess: one drawn plot per series' branch and architecture, the slow series' regression ringed with its range
      expect(visit.consoleErrors).toEqual([]);
      expect(visit.externalRequests).toEqual([]);
      expect(visit.result.map((p) => p.panel).sort()).toEqual([
        '14-3-stable-amd64',
        '14-3-stable-arm64',
        '15-0-current-amd64',
        '15-0-current-arm64',
      ]);
      for (const plot of visit.result) {
        expect(plot.width).toBeGreaterThan(300);
        expect(plot.boots).toBeGreaterThanOrEqual(9 * 3);
      }
      const ringed = visit.result.flatMap((p) => p.regressions.map((title) => `${p.panel}: ${title}`));
      expect(ringed.length).toBeGreaterThan(0);
      expect(ringed.every((line) => line.startsWith('15-0-current-arm64: '))).toBe(true);
      expect(
        ringed.every((line) =>
          /REGRESSION 15\.0-CURRENT arm64 base\/zfs on c\dg\.large: .* between main@\w+ and main@\w+/.test(line),
        ),
      ).toBe(true);
    },
  );

  test('a second run in the same week publishes, boots, repairs and prunes nothing', async () => {
    const before = (await Promise.all(DEMO_REGIONS.map((r) => ownImages(clients, r)))).flat().length;

    const second = await cycle();
    const runs = second.executions.slice(first.executions.length);

    expect(runs.map((e) => [e.workflow, e.status])).toEqual([
      ['publish', 'SUCCEEDED'],
      ['audit', 'SUCCEEDED'],
      ['prune', 'SUCCEEDED'],
    ]);
    expect(runs[0]!.output).toMatchObject({ count: 0 });
    expect(runs[1]!.output).toMatchObject({ summary: { summary: { found: 0 } } });
    expect(runs[2]!.output).toMatchObject({ summary: { summary: { imagesDeregistered: 0 } } });
    expect((await Promise.all(DEMO_REGIONS.map((r) => ownImages(clients, r)))).flat().length).toBe(before);
    const ledger = new DynamoLedger(
      clients.client(DynamoDBClient, DEMO_BUILD_REGION),
      world.pipeline.output(STACK_OUTPUTS.publishLedgerTable),
    );
    const rows = await ledger.rowsOf(world.fresh.map((i) => i.imageId));
    for (const image of world.fresh) {
      expect(DEMO_REGIONS.map((r) => rows.get(image.imageId)?.get(r)?.status)).toEqual(
        DEMO_REGIONS.map(() => 'published'),
      );
    }
  });
});
