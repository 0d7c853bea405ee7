import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateStateMachineCommand, DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { DynamoBootHistory } from '../../lambdas/aws/boot/history';
import { DIGEST_ENV } from '../../lambdas/aws/digest/env';
import { bootTestTags } from '../../lambdas/aws/boot/instances';
import { ClientFactory } from '../../lambdas/aws/clients';
import { unlimited } from '../../lambdas/aws/rate-limiter';
import type { ProbeObservation } from '../../lambdas/core/boot/result';
import { TAG } from '../../lambdas/core/tags';
import { type Clock, runInvocation } from '../../lambdas/shared/invocation';
import { type MotoServer, startMoto } from '../../scripts/emulator';
import { type SeededImage, seedFleet, weeklyFleet } from '../../scripts/fleet';
import { coverCopyTagSpecifications, coverMotoGaps } from '../../scripts/moto-gaps';
import { CallRecorder, type RecordedCall } from '../support/call-recorder';
import { motoDescriber } from '../support/moto-describer';
import { authorizedResources } from './requests';
import { ACCOUNT, OTHER_REGION, PROOF_CONFIG, ProvenStack, REGION } from './stack';
import type { CfnTemplate } from './template';

const DAY = 86_400_000;
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A week of the pipeline recorded: every call each function made, against the stack as deployed. */
export interface RecordedWeek {
  readonly stack: ProvenStack;
  readonly calls: readonly RecordedCall[];
  /** The functions that ran, by logical id, with how often. */
  readonly invocations: ReadonlyMap<string, number>;
}

type Handler = (event?: unknown) => Promise<unknown>;

/** Time that passes only when a handler sleeps, so polls and waits cost nothing. */
function virtualClock(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

/**
 * Makes the emulator look like the account the stack is deployed in: the test VPC's subnets and security groups
 * with the template's CIDRs, the topics, the history table and the two reported state machines under their deployed
 * names. Returns the physical ids of what the emulator named itself.
 */
async function deployInto(admin: ClientFactory, template: CfnTemplate): Promise<Record<string, string>> {
  const ec2 = admin.ec2(REGION);
  const ids: Record<string, string> = {};
  const ofType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
  for (const [vpcId, vpc] of ofType('AWS::EC2::VPC')) {
    ids[vpcId] = (await ec2.send(new CreateVpcCommand({ CidrBlock: String(vpc.Properties!.CidrBlock) }))).Vpc!.VpcId!;
  }
  const zones = ['a', 'b', 'c'];
  for (const [index, [subnetId, subnet]] of ofType('AWS::EC2::Subnet').entries()) {
    const vpc = ids[(subnet.Properties!.VpcId as { Ref: string }).Ref]!;
    ids[subnetId] = (
      await ec2.send(
        new CreateSubnetCommand({
          VpcId: vpc,
          CidrBlock: String(subnet.Properties!.CidrBlock),
          AvailabilityZone: `${REGION}${zones[index % zones.length]}`,
        }),
      )
    ).Subnet!.SubnetId!;
  }
  for (const [groupId, group] of ofType('AWS::EC2::SecurityGroup')) {
    const vpc = ids[(group.Properties!.VpcId as { Ref: string }).Ref]!;
    ids[groupId] = (
      await ec2.send(new CreateSecurityGroupCommand({ GroupName: groupId, Description: groupId, VpcId: vpc }))
    ).GroupId!;
  }
  return ids;
}

/** Topics, table and the reported state machines, under the names the stack gives them. */
async function createServices(admin: ClientFactory, stack: ProvenStack, server: MotoServer): Promise<void> {
  const { deployed } = stack;
  for (const id of deployed.idsOf('AWS::SNS::Topic')) {
    await admin.sns(REGION).send(new CreateTopicCommand({ Name: deployed.physicalName(id) }));
  }
  for (const id of deployed.idsOf('AWS::DynamoDB::Table')) {
    const properties = deployed.resource(id).Properties as Record<string, never>;
    await admin.dynamodb(REGION).send(
      new CreateTableCommand({
        TableName: deployed.physicalName(id),
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: properties.AttributeDefinitions,
        KeySchema: properties.KeySchema,
      }),
    );
  }
  await server.configure({ stepfunctions: { execute_state_machine: true } });
  // The emulator starts an execution of the first state machine only, so the publish workflow's comes first: a run
  // that failed at its end, so that the digest reads its history for the state it failed in.
  const publishArn = stack.functionOf('digest/handler.ts').environment[DIGEST_ENV.publishStateMachine];
  const machines = deployed
    .idsOf('AWS::StepFunctions::StateMachine')
    .sort((a, b) => Number(deployed.ref(b) === publishArn) - Number(deployed.ref(a) === publishArn));
  const definition = {
    StartAt: 'Summary',
    States: { Summary: { Type: 'Pass', Next: 'Incomplete' }, Incomplete: { Type: 'Fail', Error: 'Incomplete' } },
  };
  for (const id of machines) {
    const machine = await admin.sfn(REGION).send(
      new CreateStateMachineCommand({
        name: deployed.physicalName(id),
        definition: JSON.stringify(definition),
        roleArn: `arn:aws:iam::${ACCOUNT}:role/${deployed.physicalName(id)}`,
      }),
    );
    if (deployed.ref(id) !== publishArn) continue;
    const execution = await admin
      .sfn(REGION)
      .send(new StartExecutionCommand({ stateMachineArn: machine.stateMachineArn!, name: 'weekly', input: '{}' }));
    for (let poll = 0; poll < 100; poll++) {
      const described = await admin
        .sfn(REGION)
        .send(new DescribeExecutionCommand({ executionArn: execution.executionArn! }));
      if (described.status !== 'RUNNING') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** This week's builds in the build region, aged builds and a build nobody adopted yet elsewhere, and SSM. */
async function seedImages(admin: ClientFactory, now: number): Promise<SeededImage[]> {
  const managed = { [PROOF_CONFIG.managedTag.key]: PROOF_CONFIG.managedTag.value };
  const fresh = await seedFleet(
    admin,
    weeklyFleet({
      regions: [REGION],
      series: ['15.0-CURRENT/amd64/base/ufs', '14.3-STABLE/arm64/base/zfs'],
      weeks: 1,
      newestBuildDate: isoDate(now - DAY),
      tags: managed,
    }),
  );
  await seedFleet(admin, [
    ...weeklyFleet({
      regions: [OTHER_REGION],
      series: ['15.0-CURRENT/amd64/base/ufs'],
      weeks: 3,
      newestBuildDate: isoDate(now - 8 * DAY),
      tags: { ...managed, [TAG.series]: '15.0-CURRENT/amd64/base/ufs' },
    }),
    ...weeklyFleet({
      regions: [OTHER_REGION],
      series: ['13.5-STABLE/arm64/small/ufs'],
      weeks: 1,
      newestBuildDate: isoDate(now - 30 * DAY),
      tags: {},
    }),
  ]);
  await admin.ssm(OTHER_REGION).send(
    new PutParameterCommand({
      Name: `${PROOF_CONFIG.publish.ssmPrefix}/amd64/base/ufs/15.0/CURRENT`,
      Value: 'ami-00000000000000000',
      Type: 'String',
      Overwrite: true,
    }),
  );
  return fresh;
}

/**
 * Runs every handler of the stack as its function against a dedicated emulator, through a realistic week, recording
 * each AWS call with the state of what it authorizes: publish (regions, discover, prepare, poll with a failed copy
 * deregistered and copied again, finalize, announce), the boot test of the new builds (plan, launch, wait-running,
 * hot-plug, inspect, cleanup, record with a regression alarm; the probe needs no API and is left out), prune (regions,
 * plan, execute with deletions, summary, adopt), the sweeper finding a forgotten instance and the digest.
 */
export async function recordedWeek(template: CfnTemplate): Promise<RecordedWeek> {
  process.env.LOG_LEVEL ??= 'error';
  const server = await startMoto();
  // The boot record writes its metrics as embedded-metric log lines; they are not the proof's output.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    String(chunk).startsWith('{"_aws"') ? true : write(chunk, ...rest)) as typeof process.stdout.write;
  try {
    const admin = new ClientFactory({ endpoint: server.endpoint, credentials: CREDENTIALS, maxAttempts: 1 });
    const stack = new ProvenStack(template, await deployInto(admin, template));
    await createServices(admin, stack, server);
    const start = Date.now();
    const fresh = await seedImages(admin, start);

    const recorder = new CallRecorder({ describe: motoDescriber(admin, ACCOUNT), references: authorizedResources });
    const clients = new ClientFactory({
      endpoint: server.endpoint,
      credentials: CREDENTIALS,
      maxAttempts: 1,
      plugins: [recorder.plugin],
    });
    coverMotoGaps(clients, [REGION, OTHER_REGION]);
    coverCopyTagSpecifications(clients, [REGION, OTHER_REGION], admin);
    const clock = virtualClock(start);
    const invocations = new Map<string, number>();
    const run = async <T>(entry: string, event?: unknown): Promise<T> => {
      const fn = stack.functionOf(entry);
      invocations.set(fn.logicalId, (invocations.get(fn.logicalId) ?? 0) + 1);
      const handler: Handler = require(`../../lambdas/${entry.replace(/\.ts$/, '')}`).handler;
      return runInvocation(
        {
          functionName: fn.logicalId,
          env: { ...fn.environment },
          clock,
          remainingMs: () => 600_000,
          services: { clients, limiter: unlimited },
        },
        () => handler(event) as Promise<T>,
      );
    };

    const images = await publishWeek(run, clients);
    await bootTestWeek(run, admin, stack, images, clock);
    await pruneWeek(run);
    await sweepWeek(run, admin, stack, fresh[0]!.imageId, clock);
    await run('digest/handler.ts', { time: new Date(clock.now() + DAY).toISOString() });
    return { stack, calls: recorder.calls, invocations };
  } finally {
    process.stdout.write = write;
    await server.stop();
  }
}

type Run = <T>(entry: string, event?: unknown) => Promise<T>;

interface Progress {
  readonly region: string;
  readonly pending: boolean;
  readonly copies: readonly { readonly imageId?: string }[];
}

async function publishWeek(run: Run, clients: ClientFactory): Promise<string[]> {
  const { regions } = await run<{ regions: string[] }>('regions/handler.ts', {});
  const discovered = await run<{ images: string[]; pollSeconds: number }>('publish/discover.ts', {
    selection: { regions },
    pollSeconds: 0,
  });
  // EC2 reports the first copy in the other region failed once: the poll deregisters it and copies again.
  let failedCopy: string | undefined;
  clients.ec2(OTHER_REGION).middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const output = result.output as { Images?: { ImageId?: string; State?: string }[] };
      for (const image of output.Images ?? []) if (image.ImageId === failedCopy) image.State = 'failed';
      return result;
    },
    { step: 'initialize', name: 'reportCopyFailed' },
  );
  const outcomes = [];
  for (const region of regions) {
    let progress = await run<Progress>('publish/prepare.ts', {
      region,
      images: discovered.images,
      pollSeconds: 0,
      startedAt: new Date().toISOString(),
    });
    if (region === OTHER_REGION) failedCopy = progress.copies[0]?.imageId;
    for (let poll = 0; progress.pending && poll < 10; poll++) {
      progress = await run<Progress>('publish/poll.ts', progress);
      failedCopy = undefined;
    }
    outcomes.push(await run('publish/finalize.ts', progress));
  }
  await run('publish/announce.ts', { images: discovered.images, outcomes });
  return discovered.images;
}

interface Launched {
  readonly spec: { readonly checks: { readonly hotplugCycles: number } };
  readonly launch: { readonly instanceId: string; readonly runInstancesReturnedAt: number };
}

async function bootTestWeek(
  run: Run,
  admin: ClientFactory,
  stack: ProvenStack,
  images: readonly string[],
  clock: ReturnType<typeof virtualClock>,
): Promise<void> {
  const runId = 'publish-week';
  await seedBootHistory(admin, stack, images, clock.now());
  const plan = await run<{ rounds: { launches: unknown[] }[] }>('boot/plan.ts', {
    runId,
    request: { imageIds: images },
  });
  const rounds = [];
  for (const round of plan.rounds) {
    const launched = await run<{ launched: Launched[]; notLaunched: unknown[]; instanceIds: string[] }>(
      'boot/launch.ts',
      { runId, launches: round.launches },
    );
    const running = await run<{ runningAt: Record<string, number> }>('boot/wait-running.ts', {
      instanceIds: launched.instanceIds,
    });
    const results = [];
    for (const item of launched.launched) {
      // The probe needs no AWS API: its observation is made up, a slow boot so that the record alarms.
      const returned = item.launch.runInstancesReturnedAt;
      const probe: ProbeObservation = {
        outcome: 'open',
        startedAt: returned,
        closedAt: returned + 20_000,
        openAt: returned + 40_000,
        banner: 'SSH-2.0-OpenSSH_9.9 FreeBSD-20250219',
        attempts: 800,
        reason: 'port 22 open',
      };
      let hotplug: { finished: boolean; volumeId?: string; cycles?: number } | undefined;
      if (item.spec.checks.hotplugCycles > 0) {
        let resume = { completed: 0 } as { completed: number; volumeId?: string };
        for (let batch = 0; batch < 5; batch++) {
          hotplug = await run('boot/hotplug.ts', { runId, ...item, resume });
          if (hotplug!.finished) break;
          resume = { volumeId: hotplug!.volumeId, completed: hotplug!.cycles ?? 0 };
        }
      }
      results.push(
        await run('boot/inspect.ts', {
          runId,
          ...item,
          probe,
          running,
          ...(hotplug && { hotplug, recheck: { open: true, reason: 'port 22 open' } }),
        }),
      );
    }
    await run('boot/cleanup.ts', { runId });
    rounds.push({ results, notLaunched: launched.notLaunched });
  }
  await run('boot/record.ts', { runId, rounds });
  await run('boot/cleanup.ts', { runId });
}

/** Earlier weeks' fast boots of the new builds' series, so this week's slow boot is a regression. */
async function seedBootHistory(admin: ClientFactory, stack: ProvenStack, images: readonly string[], now: number) {
  const table = stack.deployed.physicalName(stack.deployed.idsOf('AWS::DynamoDB::Table')[0]!);
  const history = new DynamoBootHistory(admin.dynamodb(REGION), table);
  const described = await admin.ec2(REGION).send(new DescribeImagesCommand({ ImageIds: [...images] }));
  for (const image of described.Images ?? []) {
    const series = image.Tags?.find((t) => t.Key === TAG.series)?.Value;
    if (!series) continue;
    const types = series.includes('arm64')
      ? PROOF_CONFIG.bootTest.instanceTypes.arm64
      : PROOF_CONFIG.bootTest.instanceTypes.amd64;
    for (const instanceType of types)
      for (let week = 1; week <= 3; week++) {
        const buildDate = isoDate(now - week * 7 * DAY);
        await history.put({
          seriesKey: series,
          instanceType,
          buildDate,
          imageId: `ami-${String(week).padStart(17, '0')}`,
          imageName: image.Name ?? '',
          region: REGION,
          revision: `main@${week}a2b3c4`,
          network: 'isolated',
          status: 'passed',
          reason: 'single run',
          runs: 1,
          median: { runInstancesSeconds: 1, bootSeconds: 10 },
          testedAt: `${buildDate}T12:00:00Z`,
          runId: `week-${week}`,
        });
      }
  }
}

async function pruneWeek(run: Run): Promise<void> {
  const { regions } = await run<{ regions: string[] }>('regions/handler.ts', { regions: [] });
  const plan = await run<{ execute: boolean; items: { complete: boolean }[]; failedRegions: string[] }>(
    'prune/plan.ts',
    { regions, options: { execute: true } },
  );
  const results = [];
  for (let item of plan.items) {
    for (let batch = 0; !item.complete && batch < 5; batch++) item = await run('prune/execute.ts', item);
    results.push(item);
  }
  await run('prune/summary.ts', { execute: plan.execute, results, failedRegions: plan.failedRegions });
  await run('prune/adopt.ts', { regions, execute: true });
}

/** A test instance an aborted run left behind, found by the sweeper hours later. */
async function sweepWeek(
  run: Run,
  admin: ClientFactory,
  stack: ProvenStack,
  imageId: string,
  clock: ReturnType<typeof virtualClock>,
): Promise<void> {
  const sweep = stack.functionOf('boot/sweep.ts');
  const subnet = sweep.environment.BOOT_SUBNET_IDS!.split(',')[0]!;
  const tags = bootTestTags(PROOF_CONFIG.managedTag, 'aborted-run');
  await admin.ec2(REGION).send(
    new RunInstancesCommand({
      ImageId: imageId,
      InstanceType: 'c7i.large',
      MinCount: 1,
      MaxCount: 1,
      SubnetId: subnet,
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
      ],
    }),
  );
  clock.advance((PROOF_CONFIG.bootTest.sweepAfterMinutes + 60) * 60_000);
  await run('boot/sweep.ts');
}
