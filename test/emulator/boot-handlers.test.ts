import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createServer, type Server } from 'node:net';
import { DynamoBootHistory } from '../../lambdas/aws/boot/history';
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
import { seedFleet, weeklyFleet } from '../../scripts/fleet';
import { createBootHistoryTable } from '../support/boot-history-table';

const REGION = 'us-east-1';
const clients = new ClientFactory({ maxAttempts: 1 });
const ec2 = clients.ec2(REGION);
const TABLE = 'handler-boot-history';
let queueUrl: string;
let imageId: string;
let server: Server;
let sshPort: number;

async function published(): Promise<string[]> {
  const messages: string[] = [];
  for (;;) {
    const page = await clients
      .sqs(REGION)
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
  await createBootHistoryTable(clients.dynamodb(REGION), TABLE);
  const topic = await clients.sns(REGION).send(new CreateTopicCommand({ Name: 'alarms' }));
  const queue = await clients.sqs(REGION).send(new CreateQueueCommand({ QueueName: 'alarms-inbox' }));
  queueUrl = queue.QueueUrl!;
  const arn = await clients
    .sqs(REGION)
    .send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  await clients
    .sns(REGION)
    .send(new SubscribeCommand({ TopicArn: topic.TopicArn!, Protocol: 'sqs', Endpoint: arn.Attributes!.QueueArn! }));
  Object.assign(process.env, {
    [CONFIG_ENV]: JSON.stringify({
      bootTest: { instanceTypes: { amd64: ['c7i.large'], arm64: ['c7g.large'] }, hotplugCycles: 0, stopCheck: true },
    }),
    [BOOT_ENV.subnets]: subnet.Subnet!.SubnetId!,
    [BOOT_ENV.securityGroups]: sg.GroupId!,
    [BOOT_ENV.network]: 'isolated',
    [BOOT_ENV.historyTable]: TABLE,
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
  server = createServer((socket) => socket.end('SSH-2.0-OpenSSH_9.9 FreeBSD-20250219\r\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sshPort = (server.address() as { port: number }).port;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('boot test handlers, chained as the state machine chains them', () => {
  test('plan, launch, wait, probe, inspect, record and clean up one image', async () => {
    const planned = await plan({ runId: 'weekly-20261128', request: { imageIds: [imageId] } });
    expect(planned.rounds).toHaveLength(1);
    expect(planned.probe).toEqual({ timeoutSeconds: 600, intervalMs: 50 });

    const round = await launch({ runId: planned.runId, launches: planned.rounds[0]!.launches });
    expect(round.instanceIds).toHaveLength(1);
    const running = await waitRunning({ instanceIds: round.instanceIds });
    // The emulator's private address is unreachable, so the probe watches a loopback listener instead.
    const observation = await probe({ host: '127.0.0.1', port: sshPort, timeoutSeconds: 5, intervalMs: 20 });
    const result = await inspect({
      runId: planned.runId,
      spec: round.launched[0]!.spec,
      launch: round.launched[0]!.launch,
      probe: observation,
      running,
    });
    const recorded = await record({
      runId: planned.runId,
      rounds: [{ results: [result], notLaunched: round.notLaunched }],
    });
    const cleaned = await cleanup({ runId: planned.runId });

    expect(Object.keys(running.runningAt)).toEqual(round.instanceIds);
    expect(observation).toMatchObject({ outcome: 'open', banner: 'SSH-2.0-OpenSSH_9.9 FreeBSD-20250219' });
    expect(result).toMatchObject({
      status: 'passed',
      checks: [expect.objectContaining({ name: 'stop', passed: true })],
    });
    expect(recorded.rows).toEqual([
      expect.objectContaining({ series: '15.0-CURRENT/amd64/base/ufs', status: 'passed' }),
    ]);
    // The root volume carries the run's tags too (TagSpecifications), so it is found and removed with the instance.
    expect(cleaned).toEqual({ terminated: 1, volumesDeleted: 1 });
    expect(await liveInstances()).toEqual([]);
    const rows = await new DynamoBootHistory(clients.dynamodb(REGION), TABLE).list();
    expect(rows).toHaveLength(1);
  });

  test('a regression is sent to the alarms topic with the revision range', async () => {
    const history = new DynamoBootHistory(clients.dynamodb(REGION), TABLE);
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

    const recorded = await record({ runId: 'weekly-2', rounds: [{ results: [current], notLaunched: [] }] });

    const expected =
      '14.3-STABLE arm64 base/zfs on c7g.large: 8.0 s -> 25.0 s between stable/14@a1b2c3d and stable/14@e4f5a6b';
    expect(recorded.regressions).toEqual([expected]);
    expect(await published()).toEqual([expected]);
  });

  test('events that do not match are refused before any work', async () => {
    await expect(plan({ runId: 'x', request: { imageIds: ['not-an-ami'] } })).rejects.toThrow(EventValidationError);
    await expect(probe({ host: 'example.org', timeoutSeconds: 1 })).rejects.toThrow(/host/);
    await expect(launch({ runId: 'x', launches: [{ imageId: 'ami-1' }] })).rejects.toThrow(/a planned launch/);
  });
});

describe('sweeper handler', () => {
  test('removes test instances older than the bound and reports them to the operators', async () => {
    const planned = await plan({ runId: 'forgotten', request: { imageIds: [imageId] } });
    const round = await launch({ runId: 'forgotten', launches: planned.rounds[0]!.launches });
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
    expect(messages[0]).toContain(`instance ${round.instanceIds[0]} (run forgotten`);
    expect(messages[0]).toMatch(/volume vol-[0-9a-f]+ \(run forgotten/);
    expect(await liveInstances()).toEqual([]);
  });
});
