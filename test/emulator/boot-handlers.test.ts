import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { CreateTopicCommand, SubscribeCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createServer, type Server } from 'node:net';
import { DynamoBootHistory } from '../../lambdas/aws/boot/history';
import { BootRunTable, RunAlreadyStartedError } from '../../lambdas/aws/boot/runs';
import { ClientFactory } from '../../lambdas/aws/clients';
import { handler as cleanup } from '../../lambdas/boot/cleanup';
import { handler as inspect } from '../../lambdas/boot/inspect';
import { handler as launch } from '../../lambdas/boot/launch';
import { handler as plan } from '../../lambdas/boot/plan';
import { handler as probe } from '../../lambdas/boot/probe';
import { handler as record } from '../../lambdas/boot/record';
import { BOOT_ENV } from '../../lambdas/boot/schemas';
import { handler as sweep } from '../../lambdas/boot/sweep';
import { handler as waitRunning } from '../../lambdas/boot/wait-running';
import { EventValidationError } from '../../lambdas/core/errors';
import { CONFIG_ENV } from '../../lambdas/shared/env';
import { seedFleet, weeklyFleet } from '../support/fleet';
import { realClock } from '../../lambdas/aws/rate-limiter';
import { createBootHistoryTable, createBootRunTable } from '../support/boot-history-table';

const REGION = 'us-east-1';
const clients = new ClientFactory({ maxAttempts: 1 });
const ec2 = clients.client(EC2Client, REGION);
const TABLE = 'handler-boot-history';
const RUN_TABLE = 'handler-boot-runs';
let queueUrl: string;
let imageId: string;

async function published(): Promise<string[]> {
  const messages: string[] = [];
  for (;;) {
    const page = await clients
      .client(SQSClient, REGION)
      .send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    if (!page.Messages?.length) return messages;
    messages.push(...page.Messages.map((m) => JSON.parse(m.Body!).Message as string));
  }
}

async function liveInstances(): Promise<string[]> {
  const response = await ec2.send(new DescribeInstancesCommand({}));
  return (response.Reservations ?? [])
    .flatMap((r) => r.Instances ?? [])
    .filter((i) => i.State?.Name !== 'terminated')
    .map((i) => i.InstanceId!);
}

beforeAll(async () => {
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
  const subnet = await ec2.send(
    new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.20.1.0/24', AvailabilityZone: 'us-east-1a' }),
  );
  const sg = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: 'boot', Description: 'boot', VpcId: vpc.Vpc!.VpcId! }),
  );
  await createBootHistoryTable(clients.client(DynamoDBClient, REGION), TABLE);
  await createBootRunTable(clients.client(DynamoDBClient, REGION), RUN_TABLE);
  const topic = await clients.client(SNSClient, REGION).send(new CreateTopicCommand({ Name: 'alarms' }));
  const queue = await clients.client(SQSClient, REGION).send(new CreateQueueCommand({ QueueName: 'alarms-inbox' }));
  queueUrl = queue.QueueUrl!;
  const arn = await clients
    .client(SQSClient, REGION)
    .send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  await clients
    .client(SNSClient, REGION)
    .send(new SubscribeCommand({ TopicArn: topic.TopicArn!, Protocol: 'sqs', Endpoint: arn.Attributes!.QueueArn! }));
  Object.assign(process.env, {
    [CONFIG_ENV]: JSON.stringify({
      bootTest: { instanceTypes: { amd64: ['c7i.large'], arm64: ['c7g.large'] }, hotplugCycles: 0, stopCheck: true },
    }),
    [BOOT_ENV.subnets]: subnet.Subnet!.SubnetId!,
    [BOOT_ENV.securityGroups]: sg.GroupId!,
    [BOOT_ENV.network]: 'isolated',
    [BOOT_ENV.historyTable]: TABLE,
    [BOOT_ENV.runTable]: RUN_TABLE,
    [BOOT_ENV.alarmTopic]: topic.TopicArn!,
  });
  const [image] = await seedFleet(
    clients,
    weeklyFleet({
      regions: [REGION],
      series: ['15.0-CURRENT/amd64/base/ufs'],
      weeks: 1,
      newestBuildDate: '2026-11-26',
    }),
  );
  imageId = image!.imageId;
});

/** A loopback port below the ephemeral range that refuses connections, then accepts them after `ms`. */
async function portOpeningAfter(ms: number): Promise<{ port: number; server: Server }> {
  for (let port = 21_000 + (process.pid % 5000); ; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (!free) continue;
    const later = createServer((socket) => socket.end('SSH-2.0-OpenSSH_9.9 FreeBSD-20250219\r\n'));
    setTimeout(() => later.listen(port, '127.0.0.1'), ms);
    return { port, server: later };
  }
}

describe('boot test handlers, chained as the state machine chains them', () => {
  test('plan, launch, watch running, probe, inspect, record and clean up one image, passing only ids', async () => {
    const planned = await plan({ runId: 'weekly-20261128', request: { imageIds: [imageId] } });
    expect(planned).toEqual({
      runId: 'weekly-20261128',
      batches: [1],
      launches: 1,
      skippedImages: 0,
      probe: { timeoutSeconds: 600, intervalMs: 50 },
    });

    const address = { runId: planned.runId, batch: 0, slot: 1 };
    const launched = await launch(address);
    expect(launched).toMatchObject({ launched: true, instance: { instanceType: 'c7i.large', hotplugCycles: 0 } });
    const watched = await waitRunning({ runId: planned.runId, batch: 0 });
    // The emulator's private address is unreachable, so the probe watches a loopback port that refuses at first
    // and accepts once sshd "starts" 150 ms later.
    const booting = await portOpeningAfter(150);
    const observation = await probe({ host: '127.0.0.1', port: booting.port, timeoutSeconds: 5, intervalMs: 20 });
    booting.server.close();
    const judged = await inspect({ ...address, observation });
    const recorded = await record({ runId: planned.runId });
    const cleaned = await cleanup({ runId: planned.runId });

    expect(watched).toMatchObject({ finished: true, seenRunning: 1 });
    expect(observation).toMatchObject({ outcome: 'open', banner: 'SSH-2.0-OpenSSH_9.9 FreeBSD-20250219' });
    expect(judged).toEqual({ key: `${imageId}/c7i.large/0`, status: 'passed' });
    const stored = await new BootRunTable(clients.client(DynamoDBClient, REGION), RUN_TABLE, realClock).launch(
      planned.runId,
      address,
    );
    expect(stored.result).toMatchObject({ status: 'passed', checks: [expect.objectContaining({ name: 'stop' })] });
    expect(stored.running?.runningAt).toBeGreaterThan(0);
    expect(recorded).toMatchObject({ launches: 1, rows: 1, passed: 1, regressions: 0 });
    // Inspect ended its own instance; the cleanup finds nothing left running.
    expect(cleaned).toMatchObject({ terminated: 0 });
    expect(await liveInstances()).toEqual([]);
    const rows = await new DynamoBootHistory(clients.client(DynamoDBClient, REGION), TABLE).list();
    expect(rows).toHaveLength(1);
  });

  test('a run id whose launches began is never planned again; a retried Plan before any launch is', async () => {
    await plan({ runId: 'retried-plan', request: { imageIds: [imageId] } });
    const again = await plan({ runId: 'retried-plan', request: { imageIds: [imageId] } });

    expect(again.launches).toBe(1);
    await expect(plan({ runId: 'weekly-20261128', request: { imageIds: [imageId] } })).rejects.toThrow(
      RunAlreadyStartedError,
    );
  });

  test('a regression is sent to the alarms topic with the revision range', async () => {
    const history = new DynamoBootHistory(clients.client(DynamoDBClient, REGION), TABLE);
    const row = (buildDate: string, bootSeconds: number, revision: string) => ({
      seriesKey: '14.3-STABLE/arm64/base/zfs',
      instanceType: 'c7g.large',
      buildDate,
      imageId: `ami-${buildDate}`,
      imageName: 'n',
      region: REGION,
      revision,
      network: 'isolated' as const,
      status: 'passed' as const,
      reason: 'single run',
      runs: 1,
      median: { runInstancesSeconds: 1, bootSeconds },
      testedAt: `${buildDate}T00:00:00Z`,
      runId: 'old',
    });
    await history.put(row('2026-11-19', 8, 'stable/14@a1b2c3d'));
    const current = {
      key: 'k',
      imageId: 'ami-new',
      region: REGION,
      imageName: 'n',
      seriesKey: '14.3-STABLE/arm64/base/zfs',
      instanceType: 'c7g.large',
      round: 0,
      buildDate: '2026-11-26',
      revision: 'stable/14@e4f5a6b',
      network: 'isolated',
      status: 'passed',
      reason: 'ok',
      intervals: { runInstancesSeconds: 1, bootSeconds: 25 },
      checks: [],
    };

    const runs = new BootRunTable(clients.client(DynamoDBClient, REGION), RUN_TABLE, realClock);
    const spec = { key: 'k', imageId: 'ami-new', instanceType: 'c7g.large', round: 0 } as never;
    await runs.putPlan({ runId: 'weekly-2', request: {}, skippedImages: [], batchSizes: [1], plannedAt: Date.now() }, [
      [spec],
    ]);
    await runs.setResult('weekly-2', { batch: 0, slot: 1 }, current as never);

    const recorded = await record({ runId: 'weekly-2' });

    const expected =
      '14.3-STABLE arm64 base/zfs on c7g.large: 8.0 s -> 25.0 s between stable/14@a1b2c3d and stable/14@e4f5a6b';
    expect(recorded.regressions).toBe(1);
    expect((await runs.run('weekly-2')).regressions).toEqual([expected]);
    expect(await published()).toEqual([expected]);
  });

  test('events that do not match are refused before any work', async () => {
    await expect(plan({ runId: 'x', request: { imageIds: ['not-an-ami'] } })).rejects.toThrow(EventValidationError);
    await expect(probe({ host: 'example.org', timeoutSeconds: 1 })).rejects.toThrow(/host/);
    await expect(launch({ runId: 'x', launches: [{ imageId: 'ami-1' }] })).rejects.toThrow(/batch/);
  });
});

describe('sweeper handler', () => {
  test('removes test instances older than the bound and reports them to the operators', async () => {
    const planned = await plan({ runId: 'forgotten', request: { imageIds: [imageId] } });
    const launched = await launch({ runId: planned.runId, batch: 0, slot: 1 });
    await published();
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + 4 * 3600_000);

    let report: Awaited<ReturnType<typeof sweep>>;
    try {
      report = await sweep();
    } finally {
      clock.mockRestore();
    }

    expect(report).toMatchObject({ found: 2, terminated: 1, volumesDeleted: 1, failed: [] });
    const messages = await published();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(`instance ${launched.instance!.instanceId} (run forgotten`);
    expect(messages[0]).toMatch(/volume vol-[0-9a-f]+ \(run forgotten/);
    expect(await liveInstances()).toEqual([]);
  });
});
