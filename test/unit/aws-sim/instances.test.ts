import {
  AttachVolumeCommand,
  CreateVolumeCommand,
  DeleteVolumeCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  EC2Client,
  GetConsoleOutputCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { classifyConsole } from '../../../lambdas/core/boot/console';
import { type AwsSim, BOOT_PROFILES } from '../../../scripts/aws-sim';
import { buildName, HOUR, MINUTE, rejection, simulated, virtually } from './helpers';

const REGION = 'us-east-1';
const ONE_SHOT = { maxAttempts: 1, retryMode: 'standard' } as const;

function launch(ec2: EC2Client, imageId: string, instanceType: string, extra: Record<string, unknown> = {}) {
  return ec2.send(
    new RunInstancesCommand({
      ImageId: imageId,
      InstanceType: instanceType as never,
      MinCount: 1,
      MaxCount: 1,
      ...extra,
    }),
  );
}

async function stateOf(ec2: EC2Client, instanceId: string): Promise<string | undefined> {
  const answer = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return answer.Reservations?.[0]?.Instances?.[0]?.State?.Name;
}

function seedImages(sim: AwsSim) {
  const [amd64, arm64] = sim.seed.images([
    { region: REGION, name: buildName('amd64'), architecture: 'x86_64' },
    { region: REGION, name: buildName('arm64'), architecture: 'arm64' },
  ]);
  return { amd64: amd64!.imageId, arm64: arm64!.imageId };
}

describe('simulated AWS: boots', () => {
  test('an instance is pending, then running; the probe sees port 22 refused, then accepted, as the truth says', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, REGION);

    const result = await virtually(async () => {
      const { arm64 } = seedImages(sim);
      const launched = await launch(ec2, arm64, 'c7g.large');
      const returnedAt = sim.clock.now();
      const instance = launched.Instances![0]!;
      const first = await stateOf(ec2, instance.InstanceId!);
      const observation = await sim.probe.watch(
        { host: instance.PrivateIpAddress!, port: 22 },
        { intervalMs: 50, timeoutMs: 600_000 },
      );
      const later = await stateOf(ec2, instance.InstanceId!);
      return { returnedAt, first, observation, later, truth: sim.inspect.bootTruth(instance.InstanceId!)! };
    });

    expect(result.first).toBe('pending');
    expect(result.later).toBe('running');
    expect(result.observation.outcome).toBe('open');
    expect(result.observation.banner).toMatch(/^SSH-2\.0-OpenSSH/);
    expect(result.truth.returnedAt).toBe(result.returnedAt);
    const measured = (result.observation.openAt! - result.returnedAt) / 1000;
    // Only the probe's 50 ms grid separates the measurement from the truth.
    expect(measured - result.truth.bootSeconds!).toBeGreaterThanOrEqual(0);
    expect(measured - result.truth.bootSeconds!).toBeLessThan(0.05);
    expect(result.observation.closedAt! - result.truth.networkUpAt!).toBeLessThan(50);
    expect(result.truth.bootSeconds).toBeGreaterThan(5);
    expect(result.truth.bootSeconds).toBeLessThan(60);
  });

  test('boot profiles: a slow series, an entropy wait on Graviton 2, a panic that never opens port 22', async () => {
    const { sim, clients } = simulated({
      physics: {
        boot: {
          profiles: [
            BOOT_PROFILES.slowSeries(/14\.3-STABLE/, 2),
            BOOT_PROFILES.entropyWaitOnGraviton2(20_000),
            BOOT_PROFILES.panic(/13\.5-STABLE/),
          ],
        },
      },
    });
    const ec2 = clients.client(EC2Client, REGION);

    const truths = await virtually(async () => {
      const images = sim.seed.images(
        ['15.0-CURRENT', '14.3-STABLE', '13.5-STABLE'].map((series) => ({
          region: REGION,
          name: buildName('arm64', '20260305', series),
          architecture: 'arm64' as const,
        })),
      );
      const boot = async (imageId: string, type: string) => {
        const instance = (await launch(ec2, imageId, type)).Instances![0]!;
        const observation = await sim.probe.watch(
          { host: instance.PrivateIpAddress!, port: 22 },
          { intervalMs: 50, timeoutMs: 300_000 },
        );
        return { observation, truth: sim.inspect.bootTruth(instance.InstanceId!)! };
      };
      return {
        current: await boot(images[0]!.imageId, 'c7g.large'),
        slow: await boot(images[1]!.imageId, 'c7g.large'),
        graviton2: await boot(images[0]!.imageId, 'c6g.large'),
        panic: await boot(images[2]!.imageId, 'c7g.large'),
      };
    });

    const network = (t: typeof truths.current) => t.truth.networkUpAt! - t.truth.runningAt;
    expect(network(truths.slow) / network(truths.current)).toBeGreaterThan(1.7);
    expect(truths.graviton2.truth.sshdUpAt! - truths.graviton2.truth.networkUpAt!).toBeGreaterThan(20_000);
    expect(truths.panic.truth.outcome).toBe('panic');
    expect(truths.panic.observation.outcome).toBe('timeout');
    expect(truths.panic.observation.closedAt).toBeUndefined();
  });

  test('the console shows the boot so far with Latest on Nitro, a capture minutes old otherwise', async () => {
    const { sim, clients } = simulated({ physics: { boot: { profiles: [BOOT_PROFILES.panic(/amd64/)] } } });
    const ec2 = clients.client(EC2Client, REGION);

    const result = await virtually(async () => {
      const { amd64, arm64 } = seedImages(sim);
      const nitro = (await launch(ec2, arm64, 'c7g.large')).Instances![0]!.InstanceId!;
      const xen = (await launch(ec2, amd64, 'c4.large')).Instances![0]!.InstanceId!;
      const read = async (instanceId: string, latest?: boolean) => {
        const output = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: latest }));
        return output.Output ? Buffer.from(output.Output, 'base64').toString('utf8') : '';
      };
      await sim.clock.sleep(MINUTE);
      const nitroAfterAMinute = await read(nitro, true);
      const xenAfterAMinute = await read(xen);
      const latestOnXen = await rejection(read(xen, true));
      await sim.clock.sleep(5 * MINUTE);
      const xenLater = await read(xen);
      return { nitroAfterAMinute, xenAfterAMinute, latestOnXen, xenLater };
    });

    expect(classifyConsole(result.nitroAfterAMinute).status).toBe('login');
    expect(result.xenAfterAMinute).toBe('');
    expect(result.latestOnXen.name).toBe('UnsupportedOperation');
    expect(classifyConsole(result.xenLater).status).toBe('panic');
  });
});

describe('simulated AWS: launches', () => {
  test('a ClientToken returns the first launch; other parameters are a mismatch', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, REGION);

    const result = await virtually(async () => {
      const { amd64 } = seedImages(sim);
      const first = await launch(ec2, amd64, 'c7i.large', { ClientToken: 'boot-1' });
      const again = await launch(ec2, amd64, 'c7i.large', { ClientToken: 'boot-1' });
      const mismatch = await rejection(launch(ec2, amd64, 'm7a.large', { ClientToken: 'boot-1' }));
      return { first, again, mismatch };
    });

    expect(result.again.Instances![0]!.InstanceId).toBe(result.first.Instances![0]!.InstanceId);
    expect(result.mismatch.name).toBe('IdempotentParameterMismatch');
    expect(sim.inspect.instances(REGION)).toHaveLength(1);
  });

  test('an instance type of the wrong architecture is refused', async () => {
    const { sim, clients } = simulated();

    const error = await virtually(async () => {
      const { amd64 } = seedImages(sim);
      return rejection(launch(clients.client(EC2Client, REGION), amd64, 'c7g.large'));
    });

    expect(error.name).toBe('InvalidParameterValue');
    expect(error.message).toMatch(/architecture 'arm64' of the specified instance type/);
  });

  test('InsufficientInstanceCapacity per type and zone (a server error); another zone has room', async () => {
    const { sim, clients } = simulated(
      {
        physics: { instances: { insufficientCapacity: (type, zone) => type === 'c7i.large' && zone === 'us-east-1a' } },
      },
      ONE_SHOT,
    );
    const ec2 = clients.client(EC2Client, REGION);

    const result = await virtually(async () => {
      const { amd64 } = seedImages(sim);
      const [a, b] = sim.inspect.subnets(REGION);
      const refused = await rejection(launch(ec2, amd64, 'c7i.large', { SubnetId: a!.subnetId }));
      const elsewhere = await launch(ec2, amd64, 'c7i.large', { SubnetId: b!.subnetId });
      const otherType = await launch(ec2, amd64, 'm7a.large', { SubnetId: a!.subnetId });
      return { refused, elsewhere, otherType };
    });

    expect(result.refused).toMatchObject({ name: 'InsufficientInstanceCapacity', $metadata: { httpStatusCode: 500 } });
    expect(result.elsewhere.Instances![0]!.Placement?.AvailabilityZone).toBe('us-east-1b');
    expect(result.otherType.Instances).toHaveLength(1);
  });

  test('VcpuLimitExceeded once running vCPUs would pass the limit; terminated instances free theirs', async () => {
    const { sim, clients } = simulated({ physics: { instances: { vcpuLimits: { standard: 4 } } } }, ONE_SHOT);
    const ec2 = clients.client(EC2Client, REGION);

    const result = await virtually(async () => {
      const { amd64 } = seedImages(sim);
      const first = await launch(ec2, amd64, 'c7i.large');
      await launch(ec2, amd64, 'm7a.large');
      const refused = await rejection(launch(ec2, amd64, 'c7i.large'));
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [first.Instances![0]!.InstanceId!] }));
      await sim.clock.sleep(5 * MINUTE);
      const afterTermination = await launch(ec2, amd64, 'c7i.large');
      return { refused, afterTermination };
    });

    expect(result.refused.name).toBe('VcpuLimitExceeded');
    expect(result.afterTermination.Instances).toHaveLength(1);
  });

  test('DescribeInstances filters by tag and state and pages with MaxResults', async () => {
    const { sim, clients } = simulated({ physics: { throttling: false } });
    const ec2 = clients.client(EC2Client, REGION);

    const result = await virtually(async () => {
      const { amd64 } = seedImages(sim);
      for (let i = 0; i < 12; i++)
        await launch(ec2, amd64, 'c7i.large', {
          TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'run', Value: i < 7 ? 'a' : 'b' }] }],
        });
      await sim.clock.sleep(MINUTE);
      const pages: number[] = [];
      let token: string | undefined;
      do {
        const page = await ec2.send(
          new DescribeInstancesCommand({
            Filters: [
              { Name: 'tag:run', Values: ['a'] },
              { Name: 'instance-state-name', Values: ['running'] },
            ],
            MaxResults: 5,
            NextToken: token,
          }),
        );
        pages.push(page.Reservations!.flatMap((r) => r.Instances ?? []).length);
        token = page.NextToken;
      } while (token);
      return pages;
    });

    expect(result).toEqual([5, 2]);
  });

  test('terminated instances shut down, then stay listed as terminated for an hour; stops take the OS its time', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, REGION);

    const result = await virtually(async () => {
      const { arm64 } = seedImages(sim);
      const [one, two] = [await launch(ec2, arm64, 'c7g.large'), await launch(ec2, arm64, 'c7g.large')].map(
        (r) => r.Instances![0]!.InstanceId!,
      );
      await sim.clock.sleep(MINUTE);
      const terminating = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [one!] }));
      const stopping = await ec2.send(new StopInstancesCommand({ InstanceIds: [two!] }));
      await sim.clock.sleep(2 * MINUTE);
      const states = [await stateOf(ec2, one!), await stateOf(ec2, two!)];
      const volumes = await ec2.send(
        new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [one!] }] }),
      );
      await sim.clock.sleep(HOUR);
      const gone = await rejection(stateOf(ec2, one!));
      return { terminating, stopping, states, volumes, gone };
    });

    expect(result.terminating.TerminatingInstances?.[0]).toMatchObject({
      PreviousState: { Name: 'running' },
      CurrentState: { Name: 'shutting-down', Code: 32 },
    });
    expect(result.stopping.StoppingInstances?.[0]?.CurrentState?.Name).toBe('stopping');
    expect(result.states).toEqual(['terminated', 'stopped']);
    expect(result.volumes.Volumes).toEqual([]);
    expect(result.gone.name).toBe('InvalidInstanceID.NotFound');
    const seconds = sim.inspect.instanceSeconds()['c7g.large']!;
    expect(seconds).toBeGreaterThan(100);
    // Billed, each instance counts at least its minimum.
    expect(sim.inspect.instanceSeconds({ billedMinimumSeconds: 3600 })['c7g.large']).toBe(2 * 3600);
    expect(sim.inspect.instanceSeconds({ billedMinimumSeconds: 1 })['c7g.large']).toBe(seconds);
  });
});

describe('simulated AWS: volumes', () => {
  test('create, attach, detach and delete move through their states; past the hot-plug limit an attach never completes', async () => {
    const { sim, clients } = simulated({ physics: { boot: { profiles: [{ hotplugLimit: 2 }] } } });
    const ec2 = clients.client(EC2Client, REGION);

    const result = await virtually(async () => {
      const { amd64 } = seedImages(sim);
      const instance = (await launch(ec2, amd64, 'c7i.large')).Instances![0]!;
      const zone = instance.Placement!.AvailabilityZone!;
      await sim.clock.sleep(MINUTE);
      const created = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: zone, Size: 1, VolumeType: 'gp3' }));
      const volumeId = created.VolumeId!;
      const state = async () => {
        const volume = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }))).Volumes![0]!;
        return `${volume.State}/${volume.Attachments?.[0]?.State ?? '-'}`;
      };
      const seen = [created.State, await sim.clock.sleep(30_000).then(state)];
      for (let cycle = 0; cycle < 3; cycle++) {
        await ec2.send(
          new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instance.InstanceId!, Device: '/dev/sdf' }),
        );
        seen.push(await state());
        await sim.clock.sleep(30_000);
        seen.push(await state());
        await ec2.send(new DetachVolumeCommand({ VolumeId: volumeId, Force: cycle === 2 }));
        await sim.clock.sleep(30_000);
        seen.push(await state());
      }
      await ec2.send(new DeleteVolumeCommand({ VolumeId: volumeId }));
      await sim.clock.sleep(30_000);
      const deleted = await rejection(state());
      return { seen, deleted };
    });

    expect(result.seen).toEqual([
      'creating',
      'available/-',
      'in-use/attaching',
      'in-use/attached',
      'available/-',
      'in-use/attaching',
      'in-use/attached',
      'available/-',
      // The third attach hangs; only a forced detach frees the volume.
      'in-use/attaching',
      'in-use/attaching',
      'available/-',
    ]);
    expect(result.deleted.name).toBe('InvalidVolume.NotFound');
  });
});
