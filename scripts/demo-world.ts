import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SubscribeCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type CycleOutcome, runCycle } from '../bin/local/cycle';
import { LocalPipeline } from '../bin/local/pipeline';
import { DynamoBootHistory } from '../lambdas/aws/boot/history';
import type { ClientFactory } from '../lambdas/aws/clients';
import type { BootHistoryRow } from '../lambdas/core/boot/result';
import { type PipelineConfig, type PipelineConfigInput, parseConfig } from '../lambdas/core/config';
import { TAG } from '../lambdas/core/tags';
import { fakeRevision, type SeededImage, seedFleet, weeklyFleet } from '../test/support/fleet';
import { motoGapsPlugin } from '../test/support/moto-gaps';
import { SimulatedHosts } from '../test/support/simulated-hosts';
import { DAY_MS } from '../lambdas/core/time';

export const DEMO_BUILD_REGION = 'us-east-1';
export const DEMO_REGIONS = [DEMO_BUILD_REGION, 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-northeast-1'];
export const DEMO_SERIES = [
  '15.0-CURRENT/amd64/base/ufs',
  '15.0-CURRENT/arm64/base/zfs',
  '14.3-STABLE/amd64/cloud-init/zfs',
  '14.3-STABLE/arm64/small/ufs',
];
export const DEMO_WEEKS_OF_HISTORY = 16;
/** This week's build of this series boots ten times slower: the regression the cycle must flag. */
export const DEMO_SLOW_SERIES = '15.0-CURRENT/arm64/base/zfs';
export const DEMO_BOOT_MS = { usual: 250, slow: 2800 };

/** Everything a weekly cycle on the emulator needs, and what was seeded, for checking the outcome. */
export interface DemoWorld {
  readonly config: PipelineConfig;
  readonly now: Date;
  /** The stack as deployed locally on the emulator, its state machines run by the local engine. */
  readonly pipeline: LocalPipeline;
  /** SQS queue subscribed to the announcements topic, standing in for the mailing list. */
  readonly queueUrl: string;
  readonly published: SeededImage[];
  readonly fresh: SeededImage[];
  /** Stands in for the instances' port 22, which the emulator's instances do not have. */
  readonly hosts: SimulatedHosts;
}

function isoDaysBefore(date: Date, days: number): string {
  return new Date(date.getTime() - days * DAY_MS).toISOString().slice(0, 10);
}

/** Boot history of the previous weeks, as the table would hold it, so this week's results have a baseline. */
function previousWeeks(now: Date): BootHistoryRow[] {
  const rows: BootHistoryRow[] = [];
  for (const seriesKey of DEMO_SERIES) {
    const arch = seriesKey.split('/')[1];
    const branch = seriesKey.includes('CURRENT') ? 'main' : 'stable/14';
    const types = arch === 'arm64' ? ['c6g.large', 'c7g.large', 'c8g.large'] : ['c5.large', 'c7i.large', 'm7a.large'];
    for (let week = 1; week <= 8; week++) {
      const buildDate = isoDaysBefore(now, week * 7);
      for (const instanceType of types)
        rows.push({
          seriesKey,
          instanceType,
          buildDate,
          imageId: `ami-history-${week}`,
          imageName: `${seriesKey} ${buildDate}`,
          region: DEMO_BUILD_REGION,
          revision: `${branch}@${fakeRevision(seriesKey, buildDate)}`,
          network: 'isolated',
          status: 'passed',
          reason: 'port 22 open',
          runs: 1,
          median: { runInstancesSeconds: 0.05, bootSeconds: 0.3 + ((week * 7 + instanceType.length) % 5) * 0.02 },
          testedAt: `${buildDate}T08:00:00.000Z`,
          runId: `weekly-${buildDate}`,
        });
    }
  }
  return rows;
}

/** The demo's configuration: the stack the demo, the weekly-cycle test and the reproducibility tests deploy. */
export const DEMO_CONFIG_INPUT: PipelineConfigInput = {
  buildRegion: DEMO_BUILD_REGION,
  regions: { allow: DEMO_REGIONS },
  bootTest: { hotplugCycles: 3, timeoutSeconds: 60 },
  notifications: { subjectPrefix: '[FreeBSD EC2]' },
  safety: { dryRun: false },
};

/**
 * Seeds the emulator with a FreeBSD fleet: 16 weeks of published builds of 4 series in 5 regions and this week's
 * builds waiting in the build region; deploys the stack's resources locally (topics, history table, test VPC); an
 * SQS subscriber on the announcements topic; boot history of 8 weeks; and simulated hosts on loopback whose port 22
 * opens after a delay chosen by the image they run.
 */
export async function createDemoWorld(emulator: ClientFactory, now: Date): Promise<DemoWorld> {
  const clients = emulator.withPlugins(motoGapsPlugin());
  const today = now.toISOString().slice(0, 10);
  const config = parseConfig(DEMO_CONFIG_INPUT);
  const managed = { [config.managedTag.key]: config.managedTag.value };
  const published = await seedFleet(
    clients,
    weeklyFleet({
      regions: DEMO_REGIONS,
      series: DEMO_SERIES,
      weeks: DEMO_WEEKS_OF_HISTORY,
      newestBuildDate: isoDaysBefore(now, 7),
      tags: { ...managed, [TAG.publishedAt]: isoDaysBefore(now, 6) },
    }),
  );
  const fresh = await seedFleet(
    clients,
    weeklyFleet({ regions: [DEMO_BUILD_REGION], series: DEMO_SERIES, weeks: 1, newestBuildDate: today, tags: managed }),
  );

  const ec2 = clients.client(EC2Client, DEMO_BUILD_REGION);
  const [slowVariant] = DEMO_SERIES.filter((s) => s === DEMO_SLOW_SERIES).map((s) => s.split('/'));
  const slowName = `-${slowVariant![1]}-${today.replaceAll('-', '')} ${slowVariant![2]} ${slowVariant![3]!.toUpperCase()}`;
  const slowImages = new Set(
    ((await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [])
      .filter((image) => image.Name?.endsWith(slowName))
      .map((image) => image.ImageId),
  );
  const hosts = new SimulatedHosts(async (host) => {
    const found = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'private-ip-address', Values: [host] }] }),
    );
    const imageId = found.Reservations?.[0]?.Instances?.[0]?.ImageId;
    return slowImages.has(imageId) ? DEMO_BOOT_MS.slow : DEMO_BOOT_MS.usual;
  });
  const pipeline = await LocalPipeline.create({
    config,
    clients,
    services: (fn) => (fn.entry === 'boot/probe.ts' ? { probe: hosts } : {}),
  });

  const sns = clients.client(SNSClient, DEMO_BUILD_REGION);
  const sqs = clients.client(SQSClient, DEMO_BUILD_REGION);
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'mailing-list' }))).QueueUrl!;
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  await sns.send(
    new SubscribeCommand({
      TopicArn: pipeline.announcementsTopicArn,
      Protocol: 'sqs',
      Endpoint: attributes.Attributes!.QueueArn!,
    }),
  );
  const history = new DynamoBootHistory(clients.client(DynamoDBClient, DEMO_BUILD_REGION), pipeline.bootHistoryTable);
  for (const row of previousWeeks(now)) await history.put(row);

  return { config, now, pipeline, queueUrl, published, fresh, hosts };
}

/** Runs the weekly cycle on the demo world: copies on the emulator are available at once, so polls wait 0 s. */
export function runDemoCycle(world: DemoWorld): Promise<CycleOutcome> {
  return runCycle(world.pipeline, { publish: { pollSeconds: 0 } });
}
