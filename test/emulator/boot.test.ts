import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecurityGroupCommand,
  CreateVolumeCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  EC2Client,
  type Instance,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { hotplugCheck, stopCheck } from '../../lambdas/aws/boot/checks';
import { cleanupRun, sweepTestResources } from '../../lambdas/aws/boot/cleanup';
import {
  type BootNetworkConfig,
  bootTestTags,
  describeByIdFilter,
  launchInstance,
  watchBatchRunning,
} from '../../lambdas/aws/boot/instances';
import { BootRunTable } from '../../lambdas/aws/boot/runs';
import { DynamoBootHistory } from '../../lambdas/aws/boot/history';
import { ClientFactory } from '../../lambdas/aws/clients';
import { type Clock, RateLimiter, realClock, unlimited } from '../../lambdas/aws/rate-limiter';
import { historyEventEstimate, planBootTest } from '../../lambdas/core/boot/plan';
import { defaultConfig, parseConfig } from '../../lambdas/core/config';
import { freebsdProfile } from '../../lambdas/core/naming';
import { TAG } from '../../lambdas/core/tags';
import { type SeededImage, seedFleet, weeklyFleet } from '../support/fleet';
import { FREEBSD_SSH_BANNER } from '../support/simulated-hosts';
import { createBootRunTable } from '../support/boot-history-table';
import { awsError, BootWorkflowHarness } from '../support/boot-pipeline';
import { resetEmulator } from '../support/emulator';
import { DAY_MS } from '../../lambdas/core/time';

const REGION = 'us-east-1';

/** Counts and optionally fails EC2 commands by name, through SDK middleware (the emulator has no fault injection). */
function instrument(ec2: EC2Client, fail: (command: string, count: number) => Error | undefined = () => undefined) {
  const calls: { command: string; input: Record<string, unknown> }[] = [];
  ec2.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName as string;
      calls.push({ command, input: args.input as Record<string, unknown> });
      const error = fail(command, calls.filter((c) => c.command === command).length);
      if (error) throw error;
      return next(args);
    },
    { step: 'initialize', name: 'bootTestInstrument' },
  );
  return calls;
}

async function testNetwork(ec2: EC2Client): Promise<BootNetworkConfig> {
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
  const vpcId = vpc.Vpc!.VpcId!;
  const subnets = await Promise.all(
    ['a', 'b', 'c'].map((az, i) =>
      ec2.send(
        new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.20.${i + 1}.0/24`, AvailabilityZone: `${REGION}${az}` }),
      ),
    ),
  );
  const sg = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: 'boot-test', Description: 'boot test instances', VpcId: vpcId }),
  );
  return { kind: 'isolated', subnetIds: subnets.map((s) => s.Subnet!.SubnetId!), securityGroupIds: [sg.GroupId!] };
}

/** Instances not terminated and volumes that still exist: what a test must never leave behind. */
async function leftovers(ec2: EC2Client) {
  const instances = await ec2.send(new DescribeInstancesCommand({}));
  const live = (instances.Reservations ?? [])
    .flatMap((r) => r.Instances ?? [])
    .filter((i) => i.State?.Name !== 'terminated')
    .map((i) => i.InstanceId);
  const volumes = (await ec2.send(new DescribeVolumesCommand({}))).Volumes ?? [];
  return { instances: live, volumes: volumes.map((v) => `${v.VolumeId} ${v.State}`) };
}

const config = parseConfig({
  bootTest: {
    instanceTypes: { amd64: ['c7i.large', 'm7a.large'], arm64: ['c7g.large'] },
    hotplugCycles: 3,
    timeoutSeconds: 30,
  },
});

async function setUp() {
  await resetEmulator();
  const clients = new ClientFactory({ maxAttempts: 1 });
  const ec2 = clients.client(EC2Client, REGION);
  const network = await testNetwork(ec2);
  const fleet = weeklyFleet({
    regions: [REGION],
    series: ['15.0-CURRENT/amd64/base/zfs', '15.0-CURRENT/arm64/base/ufs'],
    weeks: 1,
    newestBuildDate: '2026-11-26',
  });
  const images = await seedFleet(clients, fleet);
  return { clients, ec2, network, images };
}

type TestSetup = Awaited<ReturnType<typeof setUp>>;

/** Launches `count` untagged instances of the first image in the first subnet, outside the boot test. */
async function launchUntagged(ec2: EC2Client, network: BootNetworkConfig, images: TestSetup['images'], count = 1) {
  const launched = await ec2.send(
    new RunInstancesCommand({
      ImageId: images[0]!.imageId,
      MinCount: count,
      MaxCount: count,
      SubnetId: network.subnetIds[0],
    }),
  );
  return launched.Instances!;
}

/** The boot test plan of a run over every seeded image. */
function planSeededRun(
  images: TestSetup['images'],
  runId: string,
  bootTest: typeof config.bootTest = config.bootTest,
  runs?: number,
) {
  return planBootTest({
    runId,
    images: images.map((i) => ({ imageId: i.imageId, region: REGION, name: i.name })),
    config: bootTest,
    profile: freebsdProfile,
    runs,
  });
}

/** The boot adapters' context in the test region, through `ec2`. */
function inRegion(ec2: EC2Client, clock: Clock = realClock) {
  return { ec2, limiter: unlimited, clock, region: REGION };
}

/** Removes what a run launched or created, with short waits. */
function cleanUp(ec2: EC2Client, runId: string, managedTag = config.managedTag, cycleTimeoutMs = 2000) {
  return cleanupRun({ ...inRegion(ec2), managed: managedTag, waits: { cycleTimeoutMs, pollMs: 10 } }, runId);
}

/** Hot-plug options for `cycles` cycles on an instance, with short waits. */
function hotplugOptions(instance: Instance, cycles: number, tags: ReturnType<typeof bootTestTags>) {
  return {
    instanceId: instance.InstanceId!,
    availabilityZone: instance.Placement!.AvailabilityZone!,
    cycles,
    tags,
    cycleTimeoutMs: 2000,
    pollMs: 10,
  };
}

/** Sweeps tagged test resources created before `bound`. */
function sweep(ec2: EC2Client, bound: Date) {
  return sweepTestResources(
    { ...inRegion(ec2), managed: config.managedTag, waits: { cycleTimeoutMs: 2000, pollMs: 10 } },
    bound,
  );
}

// Whatever a test did or injected, nothing it launched or created may outlive it.
afterEach(async () => {
  expect(await leftovers(new ClientFactory({ maxAttempts: 1 }).client(EC2Client, REGION))).toEqual({
    instances: [],
    volumes: [],
  });
});

const SERIES = [
  '15.0-CURRENT/amd64/base/zfs',
  '15.0-CURRENT/arm64/base/ufs',
  '14.3-STABLE/amd64/cloud-init/ufs',
  '14.3-STABLE/arm64/small/ufs',
  '13.5-STABLE/amd64/builder/ufs',
  '13.5-STABLE/arm64/cloud-init/zfs',
  '15.0-CURRENT/amd64/small/zfs',
  '15.0-CURRENT/arm64/cloud-init/ufs',
  '14.3-STABLE/amd64/base/zfs',
  '14.3-STABLE/arm64/base/ufs',
];
const TYPES = ['c7i.large', 'm7a.large', 'c7g.large'];

describe('the boot test workflow on the local engine over the emulator', () => {
  let harness: BootWorkflowHarness;
  let images: SeededImage[];
  const amd64 = () => images.find((i) => i.name.startsWith('FreeBSD 15.0-CURRENT-amd64'))!;
  const arm64 = () => images.find((i) => i.name.startsWith('FreeBSD 15.0-CURRENT-arm64'))!;

  beforeAll(async () => {
    await resetEmulator();
    harness = await BootWorkflowHarness.create({
      bootTest: {
        referenceTypes: { amd64: 'c7i.large', arm64: 'c7g.large' },
        hotplugCycles: 3,
        timeoutSeconds: 30,
        vcpuWaitSeconds: 2,
        regression: { absoluteSeconds: 0.01 },
      },
    });
    images = await seedFleet(
      harness.world.clients,
      weeklyFleet({ regions: [REGION], series: SERIES, weeks: 2, newestBuildDate: '2026-11-26' }),
    );
  });
  afterEach(() => harness.reset());
  afterAll(() => harness?.close());

  test('probes each launch the moment its RunInstances returns, times the boot, runs the checks, ends every instance', async () => {
    // Long enough that the batch's poller sees each instance running before the port opens.
    harness.openAfter = () => 700;

    const { report, results, rows } = await harness.run(
      { imageIds: [amd64().imageId, arm64().imageId], instanceTypes: TYPES },
      'run-1',
    );

    expect([report.status, report.output]).toEqual([
      'SUCCEEDED',
      expect.objectContaining({ launches: 3, passed: 3, failed: 0, rows: 3, regressions: 0 }),
    ]);
    expect(results.map((r) => `${r.instanceType} ${r.status}`).sort()).toEqual([
      'c7g.large passed',
      'c7i.large passed',
      'm7a.large passed',
    ]);
    for (const result of results) {
      const t = result.timeline!;
      expect(t.probeStartedAt! - t.runInstancesReturnedAt).toBeLessThan(500);
      expect(result.intervals!.bootSeconds).toBeGreaterThanOrEqual(0.7);
      expect(result.intervals!.bootSeconds).toBeLessThan(2.5);
      // The batch's poller saw each instance running before its port opened.
      expect(result.intervals!.pendingToRunningSeconds).toBeLessThan(1.5);
      expect(result.banner).toBe(FREEBSD_SSH_BANNER);
    }
    const c7i = results.find((r) => r.instanceType === 'c7i.large')!;
    expect(c7i.checks.map((c) => [c.name, c.passed, c.cycles])).toEqual([
      ['hotplug', true, 3],
      ['stop', true, undefined],
    ]);
    expect(results.find((r) => r.instanceType === 'm7a.large')!.checks).toEqual([]);
    expect(c7i.network).toBe('isolated');
    expect(c7i.revision).toMatch(/^main@[0-9a-f]{8}$/);
    // The emulator's fixed console text is Linux, never a FreeBSD login prompt: the port decides, the console is kept.
    expect(c7i.console?.status).toBe('incomplete');

    const run = harness.calls.filter((c) => c.command === 'RunInstancesCommand').map((c) => c.input);
    expect(run).toHaveLength(3);
    for (const input of run) {
      expect(input).toMatchObject({
        MetadataOptions: { HttpTokens: 'required' },
        ClientToken: expect.stringMatching(/^boot-[0-9a-f]{40}-0$/),
      });
      expect(input.KeyName).toBeUndefined();
      expect(Buffer.from(input.UserData as string, 'base64').toString()).toContain('firstboot_pkgs_enable="NO"');
      const specs = input.TagSpecifications as { ResourceType: string; Tags: { Key: string; Value: string }[] }[];
      expect(specs.map((t) => t.ResourceType)).toEqual(['instance', 'volume', 'network-interface']);
      expect(specs[0]!.Tags).toEqual(expect.arrayContaining([{ Key: TAG.bootTest, Value: 'run-1' }]));
    }
    const consoles = harness.calls.filter((c) => c.command === 'GetConsoleOutputCommand');
    expect(consoles.length).toBeGreaterThan(0);
    expect(consoles.every((c) => c.input.Latest === true)).toBe(true);
    expect(harness.calls.filter((c) => c.command === 'TerminateInstancesCommand').length).toBeGreaterThanOrEqual(3);

    expect(rows).toHaveLength(3);
    const metrics = harness.recordLines.filter((line) => line.includes('"_aws"'));
    expect(metrics).toHaveLength(3);
    expect(JSON.parse(metrics[0]!)._aws.CloudWatchMetrics[0].Namespace).toBe('AmiPipeline/BootTest');
    expect(report.largestPayload.bytes).toBeLessThan(4096);
  });

  test('repeats run in batches one after the other, the cold first run is left out of the median, a regression is reported', async () => {
    const history = new DynamoBootHistory(
      harness.world.clients.client(DynamoDBClient, REGION),
      harness.pipeline.bootHistoryTable,
    );
    // Eight weeks at 0.01 s make today's loopback boot (>= 0.06 s) a regression under a tiny absolute threshold.
    for (let week = 1; week <= 8; week++)
      await history.put({
        seriesKey: '15.0-CURRENT/amd64/base/zfs',
        instanceType: 'm7a.large',
        buildDate: new Date(Date.parse('2026-11-26T00:00:00Z') - week * 7 * DAY_MS).toISOString().slice(0, 10),
        imageId: `ami-old${week}`,
        imageName: 'old',
        region: REGION,
        revision: week === 1 ? 'main@a1b2c3d' : undefined,
        network: 'isolated',
        status: 'passed',
        reason: 'single run',
        runs: 1,
        median: { runInstancesSeconds: 0.1, bootSeconds: 0.01 },
        testedAt: '2026-11-01T00:00:00Z',
        runId: 'old',
      });

    const { report, run, results, rows } = await harness.run(
      { imageIds: [amd64().imageId], instanceTypes: ['m7a.large'], runs: 3 },
      'run-2',
    );

    expect(report.status).toBe('SUCCEEDED');
    expect(run!.batchSizes).toEqual([1, 1, 1]);
    expect(results.map((r) => r.round)).toEqual([0, 1, 2]);
    // Each batch starts after the one before has been judged and cleaned up.
    for (let round = 1; round < 3; round++)
      expect(results[round]!.timeline!.runInstancesStartedAt).toBeGreaterThan(
        results[round - 1]!.timeline!.portOpenAt!,
      );
    expect(rows).toEqual([
      expect.objectContaining({ runs: 3, status: 'passed', reason: 'median of runs 2-3; run 1 (cold) discarded' }),
    ]);
    expect(run!.regressions).toEqual([
      expect.stringMatching(
        /^15\.0-CURRENT amd64 base\/zfs on m7a\.large: 0\.0 s -> 0\.\d s between main@a1b2c3d and main@[0-9a-f]{8}$/,
      ),
    ]);
    expect(report.output).toMatchObject({ regressions: 1 });
  });

  test('a port that never opens is a timeout, and the instance is still terminated', async () => {
    harness.openAfter = () => undefined;
    harness.probe = {
      watch: (target, options) => harness.hosts.watch(target, { ...options, timeoutMs: 300 }),
      check: (target, timeoutMs) => harness.hosts.check(target, timeoutMs),
    };

    const { results, rows } = await harness.run({ imageIds: [amd64().imageId], instanceTypes: ['m7a.large'] }, 'run-3');

    expect(results).toEqual([
      expect.objectContaining({ status: 'timeout', reason: expect.stringMatching(/refused at .* but never accepted/) }),
    ]);
    expect(rows[0]!.status).toBe('timeout');
  });

  test('a port already open at the first probe makes the boot inconclusive, never a boot time', async () => {
    harness.probe = {
      watch: async (target) => {
        const at = Date.now();
        return {
          outcome: 'open',
          startedAt: at,
          openAt: at,
          attempts: 1,
          reason: `port ${target.port} accepted at +0.000 s`,
        };
      },
      check: (target, timeoutMs) => harness.hosts.check(target, timeoutMs),
    };

    const { report, results, rows } = await harness.run(
      { imageIds: [amd64().imageId], instanceTypes: ['m7a.large'] },
      'run-open',
    );

    expect(results).toEqual([
      expect.objectContaining({
        status: 'inconclusive',
        reason: expect.stringMatching(/^port 22 accepted the first connection without refusing one first/),
      }),
    ]);
    expect(results[0]!.intervals!.bootSeconds).toBeUndefined();
    expect(rows).toEqual([expect.objectContaining({ status: 'inconclusive' })]);
    expect(rows[0]!.median.bootSeconds).toBeUndefined();
    expect(report.output).toMatchObject({ inconclusive: 1, passed: 0, regressions: 0 });
  });

  test("a launch refused for the account's vCPU limit waits for other instances to end, then is skipped, never failed", async () => {
    harness.failEc2 = (command, count) =>
      command === 'RunInstancesCommand' && (count <= 2 || count >= 4)
        ? awsError('VcpuLimitExceeded', 'You have requested more vCPU capacity than your current vCPU limit of 4')
        : undefined;

    const waited = await harness.run({ imageIds: [amd64().imageId], instanceTypes: ['m7a.large'] }, 'run-vcpu-1');
    const refused = await harness.run({ imageIds: [arm64().imageId], instanceTypes: ['c7g.large'] }, 'run-vcpu-2');

    expect(waited.results).toEqual([expect.objectContaining({ status: 'passed' })]);
    expect(harness.calls.filter((c) => c.command === 'RunInstancesCommand').length).toBeGreaterThan(4);
    expect(refused.results).toEqual([
      expect.objectContaining({
        status: 'skipped',
        reason: expect.stringMatching(/^the account's vCPU limit was reached: \d+ launch\(es\) refused over \d/),
      }),
    ]);
    expect(refused.rows).toEqual([expect.objectContaining({ status: 'skipped' })]);
    expect(refused.report.output).toMatchObject({ skipped: 1, failed: 0 });
  });

  test('20 images on 3 types each: no state carries more than a few KB, and nothing is left behind', async () => {
    const { report, run, results } = await harness.run({ imageIds: images.map((i) => i.imageId) }, 'run-fleet');

    expect([report.status, report.error, report.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
    expect(results).toHaveLength(60);
    expect(results.filter((r) => r.status !== 'passed')).toEqual([]);
    expect(report.largestPayload.bytes).toBeLessThan(4096);
    expect(run!.batchSizes).toEqual([30, 30]);
    // The plan's estimate of the history bounds what the execution used, closely.
    const estimate = historyEventEstimate({ batchSizes: run!.batchSizes, checkedLaunches: 20, hotplugCycles: 3 });
    expect(report.historyEventCount).toBeLessThanOrEqual(estimate);
    expect(report.historyEventCount).toBeGreaterThan(estimate * 0.95);
  });
});

describe('boot test adapters against the emulator', () => {
  test('a capacity error moves to the next AZ; when every AZ refuses the launch is skipped, not failed', async () => {
    const { ec2, network, images } = await setUp();
    const spec = planSeededRun(images, 'cap').rounds[0]![0]!;
    let refuseAll = false;
    const calls = instrument(ec2, (name, count) =>
      name === 'RunInstancesCommand' && (refuseAll || count === 1)
        ? awsError('InsufficientInstanceCapacity', 'We currently do not have sufficient capacity')
        : undefined,
    );
    const tags = bootTestTags(config.managedTag, 'cap', spec);

    const launching = { ec2, limiter: unlimited, clock: realClock, network };
    const moved = await launchInstance(launching, spec, tags);
    refuseAll = true;
    const skipped = await launchInstance(launching, { ...spec, key: 'other' }, tags);

    expect(moved).toMatchObject({ status: 'launched', subnetId: network.subnetIds[1], availabilityZone: 'us-east-1b' });
    expect(moved.reason).toContain('InsufficientInstanceCapacity');
    const tokens = calls.filter((c) => c.command === 'RunInstancesCommand').map((c) => c.input.ClientToken);
    expect(tokens.slice(0, 2)).toEqual([`${spec.clientToken}-0`, `${spec.clientToken}-1`]);
    expect(skipped).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^no capacity for c7i.large/) });
    await cleanUp(ec2, 'cap');
    expect(await leftovers(ec2)).toEqual({ instances: [], volumes: [] });
  });

  test('launches respect the RunInstances throttle of 5 burst and 2 per second', async () => {
    const { ec2, network, images } = await setUp();
    const narrow = parseConfig({ bootTest: { instanceTypes: { amd64: ['c7i.large'], arm64: ['c7g.large'] } } });
    const plan = planSeededRun(images, 'throttle', narrow.bootTest, 4);
    const specs = plan.rounds.flat().slice(0, 7);
    const limiter = new RateLimiter();
    const start = Date.now();
    // When each RunInstances was let through to EC2: the emulator's answer time is not the limiter's pace.
    const sent: number[] = [];
    const run = limiter.run.bind(limiter);
    limiter.run = (region, action, call) =>
      run(region, action, () => {
        if (action === 'RunInstances') sent.push(Date.now() - start);
        return call();
      });

    const outcomes = await Promise.all(
      specs.map((spec) =>
        launchInstance(
          { ec2, limiter, clock: realClock, network },
          spec,
          bootTestTags(config.managedTag, 'throttle', spec),
        ),
      ),
    );

    expect(outcomes.map((o) => o.status)).toEqual(specs.map(() => 'launched'));
    expect(sent).toHaveLength(7);
    expect(sent[4]!).toBeLessThan(450);
    expect(sent[5]!).toBeGreaterThanOrEqual(450);
    expect(sent[6]!).toBeGreaterThanOrEqual(950);
    await cleanUp(ec2, 'throttle');
    expect(await leftovers(ec2)).toEqual({ instances: [], volumes: [] });
  });

  test('one DescribeInstances call reads the states of many instances, an id EC2 does not list yet included', async () => {
    const { ec2, network, images } = await setUp();
    const ids = (await launchUntagged(ec2, network, images, 4)).map((i) => i.InstanceId!);
    const calls = instrument(ec2);

    const states = await describeByIdFilter(inRegion(ec2), [...ids, 'i-0123456789abcdef0']);

    expect([...states.keys()].sort()).toEqual([...ids].sort());
    expect([...states.values()].every((s) => s.state === 'running')).toBe(true);
    expect(calls.filter((c) => c.command === 'DescribeInstancesCommand')).toHaveLength(1);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  });

  test('the batch poller records pending -> running with one DescribeInstances call for all pending instances', async () => {
    const { clients, ec2, network, images } = await setUp();
    await createBootRunTable(clients.client(DynamoDBClient, REGION), 'runs');
    const runs = new BootRunTable(clients.client(DynamoDBClient, REGION), 'runs', realClock);
    const instances = await launchUntagged(ec2, network, images, 3);
    const specs = planSeededRun(images, 'poll').rounds[0]!.slice(0, 3);
    await runs.putPlan({ runId: 'poll', request: {}, skippedImages: [], batchSizes: [3], plannedAt: 0 }, [specs]);
    for (const [index, instance] of instances.entries())
      await runs.setOutcome(
        'poll',
        { batch: 0, slot: index + 1 },
        {
          status: 'launched',
          key: specs[index]!.key,
          instanceId: instance.InstanceId!,
          subnetId: network.subnetIds[0]!,
          runInstancesStartedAt: 0,
          runInstancesReturnedAt: 1,
          reason: 'launched',
        },
      );
    const calls = instrument(ec2);

    const watch = await watchBatchRunning(
      { ...inRegion(ec2), runs },
      { runId: 'poll', batch: 0 },
      {
        pollMs: 10,
        stopAt: Date.now() + 5000,
      },
    );

    expect(watch).toEqual({ finished: true, polls: 1, seenRunning: 3 });
    const describes = calls.filter((c) => c.command === 'DescribeInstancesCommand');
    expect(describes).toHaveLength(1);
    expect(describes[0]!.input.Filters).toEqual([
      { Name: 'instance-id', Values: expect.arrayContaining(instances.map((i) => i.InstanceId)) },
    ]);
    const recorded = await runs.launches('poll');
    expect(recorded.every((r) => (r.running?.runningAt ?? 0) > 1)).toBe(true);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: instances.map((i) => i.InstanceId!) }));
  });

  test('the stop check times StopInstances until stopped', async () => {
    const { ec2, network, images } = await setUp();
    const id = (await launchUntagged(ec2, network, images))[0]!.InstanceId!;

    const result = await stopCheck(inRegion(ec2), id, {
      cleanWithinMs: 5000,
      timeoutMs: 5000,
      pollMs: 10,
    });
    const strict = await stopCheck(
      inRegion(ec2, {
        ...realClock,
        now: (() => {
          let t = 0;
          return () => (t += 200_000);
        })(),
      }),
      id,
      {
        cleanWithinMs: 120_000,
        timeoutMs: 10_000_000,
        pollMs: 10,
      },
    );

    expect(result).toMatchObject({
      name: 'stop',
      passed: true,
      reason: expect.stringMatching(/^stopped in \d+\.\d s$/),
    });
    expect(strict).toMatchObject({ passed: false, reason: expect.stringContaining('ignored the ACPI power button') });
    await cleanUp(ec2, 'none', defaultConfig().managedTag, 1000);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(await leftovers(ec2)).toEqual({ instances: [], volumes: [] });
  });

  test('hot-plug cycles attach and detach a tagged gp3 volume K times and always delete it', async () => {
    const { ec2, network, images } = await setUp();
    const instance = (await launchUntagged(ec2, network, images))[0]!;
    const calls = instrument(ec2);
    const options = hotplugOptions(instance, 5, bootTestTags(config.managedTag, 'hotplug'));

    const healthy = await hotplugCheck(inRegion(ec2), {
      ...options,
      afterCycles: async () => undefined,
    });
    const lost = await hotplugCheck(inRegion(ec2), {
      ...options,
      cycles: 2,
      afterCycles: async () => 'port 22 lost: port 22 did not answer',
    });

    expect(healthy).toMatchObject({ name: 'hotplug', passed: true, cycles: 5 });
    expect(calls.filter((c) => c.command === 'AttachVolumeCommand')).toHaveLength(7);
    expect(calls.find((c) => c.command === 'CreateVolumeCommand')!.input).toMatchObject({ VolumeType: 'gp3', Size: 1 });
    expect(lost).toMatchObject({ passed: false, reason: 'after 2 cycles: port 22 lost: port 22 did not answer' });
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instance.InstanceId!] }));
    expect(await leftovers(ec2)).toEqual({ instances: [], volumes: [] });
  });

  test('hot-plug cycles stopped at a deadline keep the volume for the next batch, which finishes and deletes it', async () => {
    const { ec2, network, images } = await setUp();
    const instance = (await launchUntagged(ec2, network, images))[0]!;
    const options = hotplugOptions(instance, 4, bootTestTags(config.managedTag, 'batches'));
    let ticks = 0;
    const clock = { ...realClock, now: () => ++ticks };

    const first = await hotplugCheck(inRegion(ec2, clock), { ...options, deadlineAt: 0 });
    const kept = await leftovers(ec2);
    const second = await hotplugCheck(inRegion(ec2), {
      ...options,
      resume: { volumeId: first.volumeId!, completed: first.cycles },
    });

    expect(first).toMatchObject({ finished: false, cycles: 0, passed: true });
    expect(kept.volumes).toContain(`${first.volumeId} available`);
    expect(second).toMatchObject({ finished: true, passed: true, cycles: 4, volumeId: first.volumeId });
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instance.InstanceId!] }));
    expect(await leftovers(ec2)).toEqual({ instances: [], volumes: [] });
  });

  test('the sweeper terminates and deletes only tagged test resources older than the bound, and reports them', async () => {
    const { ec2, network, images } = await setUp();
    const spec = planSeededRun(images, 'stale').rounds[0]![0]!;
    const stale = await launchInstance(
      { ec2, limiter: unlimited, clock: realClock, network },
      spec,
      bootTestTags(config.managedTag, 'stale', spec),
    );
    const [untagged] = await launchUntagged(ec2, network, images);
    const volume = await ec2.send(
      new CreateVolumeCommand({
        AvailabilityZone: 'us-east-1a',
        Size: 1,
        TagSpecifications: [{ ResourceType: 'volume', Tags: bootTestTags(config.managedTag, 'stale') }],
      }),
    );

    const tooRecent = await sweep(ec2, new Date(Date.now() - 3600_000));
    const report = await sweep(ec2, new Date(Date.now() + 60_000));

    expect(tooRecent.found).toEqual([]);
    expect(stale.status).toBe('launched');
    const launchedId = stale.status === 'launched' ? stale.instanceId : '';
    expect(report.terminated).toEqual([launchedId]);
    expect(report.volumesDeleted).toContain(volume.VolumeId);
    expect(report.found.every((r) => r.runId === 'stale')).toBe(true);
    const remaining = await leftovers(ec2);
    expect(remaining.instances).toEqual([untagged!.InstanceId]);
    expect(remaining.volumes.filter((v) => v.startsWith(volume.VolumeId!))).toEqual([]);
    await ec2.send(
      new TerminateInstancesCommand({
        InstanceIds: remaining.instances as string[],
      }),
    );
    expect(await leftovers(ec2)).toEqual({ instances: [], volumes: [] });
  });
});
