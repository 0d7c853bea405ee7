import {
  CreateSecurityGroupCommand,
  CreateVolumeCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  type EC2Client,
  type Instance,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { hotplugCheck, stopCheck } from '../../lambdas/aws/boot/checks';
import { cleanupRun, sweepTestResources } from '../../lambdas/aws/boot/cleanup';
import { MemoryBootHistory } from '../../lambdas/aws/boot/history';
import {
  type BootNetworkConfig,
  bootTestTags,
  launchInstance,
  waitUntilRunning,
} from '../../lambdas/aws/boot/instances';
import { runBootTest } from '../../lambdas/aws/boot/run';
import type { PortProbe } from '../../lambdas/aws/boot/tcp-probe';
import { ClientFactory } from '../../lambdas/aws/clients';
import { RateLimiter, realClock, unlimited } from '../../lambdas/aws/rate-limiter';
import { planBootTest } from '../../lambdas/core/boot/plan';
import { defaultConfig, parseConfig } from '../../lambdas/core/config';
import { freebsdProfile } from '../../lambdas/core/naming';
import { TAG } from '../../lambdas/core/tags';
import { seedFleet, weeklyFleet } from '../../scripts/fleet';
import { FREEBSD_SSH_BANNER, SimulatedHosts } from '../../scripts/simulated-hosts';
import { resetEmulator } from '../support/emulator';

const REGION = 'us-east-1';
const FAST_WAITS = { runningPollMs: 20, volumePollMs: 10, volumeTimeoutMs: 2000, stopPollMs: 10 };

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

function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: 'client' });
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
  const ec2 = clients.ec2(REGION);
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
function planRun(
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

/** Removes what a run launched or created, with short waits. */
function cleanUp(ec2: EC2Client, runId: string, managedTag = config.managedTag, cycleTimeoutMs = 2000) {
  return cleanupRun(ec2, unlimited, realClock, REGION, managedTag, runId, { cycleTimeoutMs, pollMs: 10 });
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
  return sweepTestResources(ec2, unlimited, realClock, REGION, config.managedTag, bound, {
    cycleTimeoutMs: 2000,
    pollMs: 10,
  });
}

// Whatever a test did or injected, nothing it launched or created may outlive it.
afterEach(async () => {
  expect(await leftovers(new ClientFactory({ maxAttempts: 1 }).ec2(REGION))).toEqual({ instances: [], volumes: [] });
});

describe('boot test against the emulator', () => {
  let probe: SimulatedHosts;
  afterEach(async () => {
    await probe?.close();
  });

  test('launches every image on its types, measures the boot, runs the checks and leaves nothing behind', async () => {
    const { clients, ec2, network, images } = await setUp();
    const calls = instrument(ec2);
    probe = new SimulatedHosts(() => 120);
    const history = new MemoryBootHistory();
    const metrics: string[] = [];

    const report = await runBootTest(
      {
        config,
        clients,
        region: REGION,
        network,
        probe,
        history,
        emitMetric: (line) => metrics.push(line),
        limiter: unlimited,
        waits: FAST_WAITS,
        logger: undefined,
      },
      { runId: 'run-1', imageIds: images.map((i) => i.imageId) },
    );

    expect(report.results.map((r) => `${r.instanceType} ${r.status}`).sort()).toEqual([
      'c7g.large passed',
      'c7i.large passed',
      'm7a.large passed',
    ]);
    const c7i = report.results.find((r) => r.instanceType === 'c7i.large')!;
    expect(c7i.banner).toBe(FREEBSD_SSH_BANNER);
    expect(c7i.intervals!.bootSeconds).toBeGreaterThanOrEqual(0.05);
    expect(c7i.intervals!.bootSeconds).toBeLessThan(2);
    expect(c7i.checks.map((c) => [c.name, c.passed, c.cycles])).toEqual([
      ['hotplug', true, 3],
      ['stop', true, undefined],
    ]);
    expect(c7i.network).toBe('isolated');
    expect(c7i.revision).toMatch(/^main@[0-9a-f]{8}$/);
    // The emulator's fixed console text is Linux, never a FreeBSD login prompt: the port decides, the console is kept.
    expect(c7i.console?.status).toBe('incomplete');

    const run = calls.filter((c) => c.command === 'RunInstancesCommand').map((c) => c.input);
    expect(run).toHaveLength(3);
    for (const input of run) {
      expect(input).toMatchObject({
        MetadataOptions: { HttpTokens: 'required' },
        SubnetId: network.subnetIds[0],
        SecurityGroupIds: network.securityGroupIds,
        ClientToken: expect.stringMatching(/^boot-[0-9a-f]{40}-0$/),
      });
      expect(input.KeyName).toBeUndefined();
      expect(Buffer.from(input.UserData as string, 'base64').toString()).toContain('firstboot_pkgs_enable="NO"');
      const specs = input.TagSpecifications as { ResourceType: string; Tags: { Key: string; Value: string }[] }[];
      expect(specs.map((t) => t.ResourceType)).toEqual(['instance', 'volume', 'network-interface']);
      expect(specs[0]!.Tags).toEqual(
        expect.arrayContaining([
          { Key: TAG.bootTest, Value: 'run-1' },
          { Key: config.managedTag.key, Value: config.managedTag.value },
        ]),
      );
    }
    const console = calls.filter((c) => c.command === 'GetConsoleOutputCommand');
    expect(console.every((c) => c.input.Latest === true)).toBe(true);
    for (const poll of calls.filter((c) => c.command === 'DescribeInstancesCommand' && c.input.InstanceIds))
      expect((poll.input.InstanceIds as string[]).length).toBeGreaterThan(0);
    const firstPoll = calls.find((c) => c.command === 'DescribeInstancesCommand')!;
    expect(firstPoll.input.InstanceIds).toHaveLength(3);

    expect(history.rows).toHaveLength(3);
    expect(metrics).toHaveLength(3);
    expect(JSON.parse(metrics[0]!)._aws.CloudWatchMetrics[0].Namespace).toBe('AmiPipeline/BootTest');
    expect(report.cleanup.failed).toEqual([]);
    expect(await leftovers(ec2)).toEqual({ instances: [], volumes: [] });
  });

  test('repeats run in rounds, the cold first run is left out of the median, and a regression is reported', async () => {
    const { clients, ec2, network, images } = await setUp();
    probe = new SimulatedHosts(() => 60);
    const history = new MemoryBootHistory();
    const amd64 = images.find((i) => i.arch === 'amd64')!;
    // Eight weeks at 0.01 s make today's loopback boot (>= 0.06 s) a regression under a tiny absolute threshold.
    for (let week = 1; week <= 8; week++) {
      await history.put({
        seriesKey: '15.0-CURRENT/amd64/base/zfs',
        instanceType: 'c7i.large',
        buildDate: new Date(Date.parse('2026-11-26T00:00:00Z') - week * 7 * 86_400_000).toISOString().slice(0, 10),
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
    }
    const sensitive = parseConfig({
      bootTest: {
        instanceTypes: { amd64: ['c7i.large'], arm64: ['c7g.large'] },
        stopCheck: false,
        hotplugCycles: 0,
        regression: { absoluteSeconds: 0.01 },
      },
    });

    const report = await runBootTest(
      { config: sensitive, clients, region: REGION, network, probe, history, limiter: unlimited, waits: FAST_WAITS },
      { runId: 'run-2', imageIds: [amd64.imageId], runs: 3 },
    );

    expect(report.results.map((r) => r.round)).toEqual([0, 1, 2]);
    expect(report.rows).toHaveLength(1);
    expect(report.rows[0]).toMatchObject({
      runs: 3,
      status: 'passed',
      reason: 'median of runs 2-3; run 1 (cold) discarded',
    });
    expect(report.regressions).toHaveLength(1);
    expect(report.regressions[0]!.message).toMatch(
      /^15\.0-CURRENT amd64 base\/zfs on c7i\.large: 0\.0 s -> 0\.\d s between main@a1b2c3d and main@[0-9a-f]{8}$/,
    );
    expect(await leftovers(ec2)).toEqual({ instances: [], volumes: [] });
  });

  test('a port that never opens is a timeout, and the instance is still terminated', async () => {
    const { clients, ec2, network, images } = await setUp();
    const quick = parseConfig({
      bootTest: { instanceTypes: { amd64: ['c7i.large'], arm64: ['c7g.large'] }, timeoutSeconds: 30 },
    });
    const silentAll = new Set<string>();
    probe = new SimulatedHosts((host) => (silentAll.has(host) ? undefined : 60));
    const neverUp: PortProbe = {
      watch: (target, options) => {
        silentAll.add(target.host);
        return probe.watch(target, { ...options, timeoutMs: 300 });
      },
      check: (target, timeoutMs) => probe.check(target, timeoutMs),
    };

    const report = await runBootTest(
      { config: quick, clients, region: REGION, network, probe: neverUp, limiter: unlimited, waits: FAST_WAITS },
      { runId: 'run-3', imageIds: [images[0]!.imageId] },
    );

    expect(report.results[0]).toMatchObject({
      status: 'timeout',
      reason: expect.stringMatching(/refused at .* but never accepted/),
    });
    expect(report.rows[0]!.status).toBe('timeout');
    expect(await leftovers(ec2)).toEqual({ instances: [], volumes: [] });
  });

  test.each([
    ['the probe crashes while instances boot', 'probe', ''],
    ['GetConsoleOutput fails', 'api', 'GetConsoleOutputCommand'],
    ['the second attach of a hot-plug cycle fails', 'api', 'AttachVolumeCommand'],
    ['StopInstances fails', 'api', 'StopInstancesCommand'],
  ])('when %s, every instance and volume is still removed', async (_what, where, command) => {
    const { clients, ec2, network, images } = await setUp();
    instrument(ec2, (name, count) =>
      where === 'api' && name === command && (command !== 'AttachVolumeCommand' || count === 2)
        ? awsError('InternalError', `injected ${command} failure`)
        : undefined,
    );
    probe = new SimulatedHosts(() => 60);
    const crashing: PortProbe = {
      watch: async (target, options) => {
        if (where === 'probe') throw new Error('probe crashed');
        return probe.watch(target, options);
      },
      check: (target, timeoutMs) => probe.check(target, timeoutMs),
    };

    const run = runBootTest(
      { config, clients, region: REGION, network, probe: crashing, limiter: unlimited, waits: FAST_WAITS },
      { runId: `run-fail-${where}-${command}`, imageIds: images.map((i) => i.imageId) },
    );

    if (where === 'probe') await expect(run).rejects.toThrow('probe crashed');
    else {
      const report = await run;
      expect(report.results.some((r) => r.status === 'failed')).toBe(true);
    }
    expect(await leftovers(ec2)).toEqual({ instances: [], volumes: [] });
  });
});

describe('boot test adapters against the emulator', () => {
  test('a capacity error moves to the next AZ; when every AZ refuses the launch is skipped, not failed', async () => {
    const { ec2, network, images } = await setUp();
    const spec = planRun(images, 'cap').rounds[0]![0]!;
    let refuseAll = false;
    const calls = instrument(ec2, (name, count) =>
      name === 'RunInstancesCommand' && (refuseAll || count === 1)
        ? awsError('InsufficientInstanceCapacity', 'We currently do not have sufficient capacity')
        : undefined,
    );
    const tags = bootTestTags(config.managedTag, 'cap', spec);

    const moved = await launchInstance(ec2, unlimited, realClock, spec, network, tags);
    refuseAll = true;
    const skipped = await launchInstance(ec2, unlimited, realClock, { ...spec, key: 'other' }, network, tags);

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
    const plan = planRun(images, 'throttle', narrow.bootTest, 4);
    const specs = plan.rounds.flat().slice(0, 7);
    const limiter = new RateLimiter();
    const start = Date.now();
    const returned: number[] = [];

    await Promise.all(
      specs.map(async (spec) => {
        const outcome = await launchInstance(
          ec2,
          limiter,
          realClock,
          spec,
          network,
          bootTestTags(config.managedTag, 'throttle', spec),
        );
        returned.push(Date.now() - start);
        return outcome;
      }),
    );

    returned.sort((a, b) => a - b);
    expect(returned[4]!).toBeLessThan(450);
    expect(returned[5]!).toBeGreaterThanOrEqual(450);
    expect(returned[6]!).toBeGreaterThanOrEqual(950);
    await cleanUp(ec2, 'throttle');
    expect(await leftovers(ec2)).toEqual({ instances: [], volumes: [] });
  });

  test('pending -> running is polled with one DescribeInstances call for all in-flight instances', async () => {
    const { ec2, network, images } = await setUp();
    const ids = (await launchUntagged(ec2, network, images, 4)).map((i) => i.InstanceId!);
    const calls = instrument(ec2);

    const watch = await waitUntilRunning(ec2, unlimited, realClock, REGION, ids, { intervalMs: 10, timeoutMs: 2000 });

    expect([...watch.runningAt.keys()].sort()).toEqual([...ids].sort());
    const describes = calls.filter((c) => c.command === 'DescribeInstancesCommand');
    expect(describes).toHaveLength(watch.polls);
    expect(describes[0]!.input.InstanceIds).toEqual(ids);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  });

  test('the stop check times StopInstances until stopped', async () => {
    const { ec2, network, images } = await setUp();
    const id = (await launchUntagged(ec2, network, images))[0]!.InstanceId!;

    const result = await stopCheck(ec2, unlimited, realClock, REGION, id, {
      cleanWithinMs: 5000,
      timeoutMs: 5000,
      pollMs: 10,
    });
    const strict = await stopCheck(
      ec2,
      unlimited,
      {
        ...realClock,
        now: (() => {
          let t = 0;
          return () => (t += 200_000);
        })(),
      },
      REGION,
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

    const healthy = await hotplugCheck(ec2, unlimited, realClock, REGION, {
      ...options,
      afterCycles: async () => undefined,
    });
    const lost = await hotplugCheck(ec2, unlimited, realClock, REGION, {
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

    const first = await hotplugCheck(ec2, unlimited, clock, REGION, { ...options, deadlineAt: 0 });
    const kept = await leftovers(ec2);
    const second = await hotplugCheck(ec2, unlimited, realClock, REGION, {
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
    const spec = planRun(images, 'stale').rounds[0]![0]!;
    const stale = await launchInstance(
      ec2,
      unlimited,
      realClock,
      spec,
      network,
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
