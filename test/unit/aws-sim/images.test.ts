import {
  CopyImageCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  DisableImageBlockPublicAccessCommand,
  EnableImageDeprecationCommand,
  GetImageBlockPublicAccessStateCommand,
  GetSnapshotBlockPublicAccessStateCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RegisterImageCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { buildName, HOUR, MINUTE, outcomes, rejection, simulated, virtually } from './helpers';

const SOURCE_REGION = 'us-east-1';

function copyRequest(sourceImageId: string, name: string, token?: string) {
  return new CopyImageCommand({
    Name: name,
    SourceImageId: sourceImageId,
    SourceRegion: SOURCE_REGION,
    ClientToken: token,
  });
}

const makePublic = (imageId: string) =>
  new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ Group: 'all' }] } });

describe('simulated AWS: copies', () => {
  test('a copy is pending for its drawn duration, then available, slower in a slow region', async () => {
    const { sim, clients } = simulated({
      physics: { images: { copyMinutes: 20, copyRegionFactor: { 'sa-east-1': 3 } } },
    });

    const states = await virtually(async () => {
      const [source] = sim.seed.images([{ region: SOURCE_REGION, name: buildName('amd64') }]);
      const fast = await clients.client(EC2Client, 'eu-west-1').send(copyRequest(source!.imageId, source!.name));
      const slow = await clients.client(EC2Client, 'sa-east-1').send(copyRequest(source!.imageId, source!.name));
      const stateOf = async (region: string, imageId: string) =>
        (await clients.client(EC2Client, region).send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0]
          ?.State;
      const seen: string[] = [];
      for (const minutes of [19, 2, 40]) {
        await sim.clock.sleep(minutes * MINUTE);
        seen.push(`${await stateOf('eu-west-1', fast.ImageId!)}/${await stateOf('sa-east-1', slow.ImageId!)}`);
      }
      return seen;
    });

    expect(states).toEqual(['pending/pending', 'available/pending', 'available/available']);
  });

  test('copy durations follow a heavy-tailed distribution of minutes to about an hour', async () => {
    const { sim, clients } = simulated({ physics: { throttling: false } });

    const minutes = await virtually(async () => {
      const sources = sim.seed.images(
        Array.from({ length: 200 }, (_, i) => ({ region: SOURCE_REGION, name: `${buildName('amd64')} ${i}` })),
      );
      const started = sim.clock.now();
      await Promise.all(
        sources.map((s) => clients.client(EC2Client, 'ap-south-1').send(copyRequest(s.imageId, s.name))),
      );
      return sim.inspect.images('ap-south-1').map((i) => (i.availableAt - started) / MINUTE);
    });

    const sorted = [...minutes].sort((a, b) => a - b);
    const median = sorted[100]!;
    expect(sorted[0]).toBeGreaterThanOrEqual(5);
    expect(sorted[199]).toBeLessThanOrEqual(76);
    expect(median).toBeGreaterThan(10);
    expect(median).toBeLessThan(20);
    // The tail: the slowest tenth take well over twice the median.
    expect(sorted[180]! / median).toBeGreaterThan(1.8);
  });

  test('a failed copy ends `failed` with a state reason, and its snapshots in error', async () => {
    const { sim, clients } = simulated({ physics: { images: { copyFailureRate: 1 } } });

    const { image, snapshot } = await virtually(async () => {
      const [source] = sim.seed.images([{ region: SOURCE_REGION, name: buildName('arm64') }]);
      const copy = await clients.client(EC2Client, 'eu-west-1').send(copyRequest(source!.imageId, source!.name));
      await sim.clock.sleep(2 * HOUR);
      const image = (
        await clients.client(EC2Client, 'eu-west-1').send(new DescribeImagesCommand({ ImageIds: [copy.ImageId!] }))
      ).Images![0]!;
      const snapshot = (
        await clients
          .client(EC2Client, 'eu-west-1')
          .send(new DescribeSnapshotsCommand({ SnapshotIds: [image.BlockDeviceMappings![0]!.Ebs!.SnapshotId!] }))
      ).Snapshots![0]!;
      return { image, snapshot };
    });

    expect(image.State).toBe('failed');
    expect(image.StateReason?.Code).toBe('Server.InternalError');
    expect(snapshot.State).toBe('error');
    expect(sim.counters.amount('copiesFailed:eu-west-1')).toBe(1);
  });

  test('at most 300 copies are in flight per destination region; the next answers ResourceLimitExceeded', async () => {
    const { sim, clients } = simulated({ physics: { throttling: false } });

    const result = await virtually(async () => {
      const sources = sim.seed.images(
        Array.from({ length: 302 }, (_, i) => ({ region: SOURCE_REGION, name: `${buildName('amd64')} ${i}` })),
      );
      const ec2 = clients.client(EC2Client, 'eu-central-1');
      const first = await outcomes(sources.slice(0, 301).map((s) => ec2.send(copyRequest(s.imageId, s.name))));
      const elsewhere = await clients
        .client(EC2Client, 'eu-west-3')
        .send(copyRequest(sources[0]!.imageId, sources[0]!.name));
      await sim.clock.sleep(2 * HOUR);
      const afterwards = await ec2.send(copyRequest(sources[301]!.imageId, sources[301]!.name));
      return { first, elsewhere, afterwards };
    });

    expect(result.first.ok).toHaveLength(300);
    expect(result.first.errors).toEqual(['ResourceLimitExceeded']);
    expect(result.elsewhere.ImageId).toMatch(/^ami-/);
    expect(result.afterwards.ImageId).toMatch(/^ami-/);
    expect(sim.counters.highest('concurrentCopies:eu-central-1')).toBe(300);
  });

  test('a ClientToken returns the first copy, even once deregistered; other parameters are a mismatch', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'eu-west-1');

    const result = await virtually(async () => {
      const [source, other] = sim.seed.images([
        { region: SOURCE_REGION, name: buildName('amd64') },
        { region: SOURCE_REGION, name: buildName('arm64') },
      ]);
      const first = await ec2.send(copyRequest(source!.imageId, source!.name, 'token-1'));
      const again = await ec2.send(copyRequest(source!.imageId, source!.name, 'token-1'));
      await ec2.send(new DeregisterImageCommand({ ImageId: first.ImageId! }));
      const afterDeregistration = await ec2.send(copyRequest(source!.imageId, source!.name, 'token-1'));
      const mismatch = await rejection(ec2.send(copyRequest(other!.imageId, other!.name, 'token-1')));
      const fresh = await ec2.send(copyRequest(source!.imageId, source!.name, 'token-2'));
      return { first, again, afterDeregistration, mismatch, fresh };
    });

    expect(result.again.ImageId).toBe(result.first.ImageId);
    expect(result.afterDeregistration.ImageId).toBe(result.first.ImageId);
    expect(result.mismatch.name).toBe('IdempotentParameterMismatch');
    expect(result.fresh.ImageId).not.toBe(result.first.ImageId);
    expect(sim.counters.amount('copiesStarted:eu-west-1')).toBe(2);
  });

  test('a name already taken answers InvalidAMIName.Duplicate; deregistration frees it', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'eu-west-1');

    const result = await virtually(async () => {
      const [source] = sim.seed.images([{ region: SOURCE_REGION, name: buildName('amd64') }]);
      const first = await ec2.send(copyRequest(source!.imageId, source!.name));
      const duplicate = await rejection(ec2.send(copyRequest(source!.imageId, source!.name)));
      await ec2.send(new DeregisterImageCommand({ ImageId: first.ImageId! }));
      const second = await ec2.send(copyRequest(source!.imageId, source!.name));
      return { duplicate, second };
    });

    expect(result.duplicate).toMatchObject({ name: 'InvalidAMIName.Duplicate' });
    expect(result.second.ImageId).toMatch(/^ami-/);
  });
});

describe('simulated AWS: deregistration and snapshots', () => {
  test('a deregistered image is listed as `deregistered` for a while, then not at all; acting on it is Unavailable', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'eu-west-1');

    const result = await virtually(async () => {
      const [image] = sim.seed.images([{ region: 'eu-west-1', name: buildName('amd64') }]);
      await ec2.send(new DeregisterImageCommand({ ImageId: image!.imageId }));
      const listed = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
      const again = await rejection(ec2.send(new DeregisterImageCommand({ ImageId: image!.imageId })));
      await sim.clock.sleep(2 * HOUR);
      const later = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
      const byId = await ec2.send(new DescribeImagesCommand({ ImageIds: [image!.imageId] }));
      const modify = await rejection(ec2.send(makePublic(image!.imageId)));
      const unknown = await rejection(ec2.send(new DeregisterImageCommand({ ImageId: 'ami-0123456789abcdef0' })));
      return { listed, again, later, byId, modify, unknown };
    });

    expect(result.listed.Images?.map((i) => i.State)).toEqual(['deregistered']);
    expect(result.again.name).toBe('InvalidAMIID.Unavailable');
    expect(result.later.Images).toEqual([]);
    expect(result.byId.Images).toEqual([]);
    expect(result.modify.name).toBe('InvalidAMIID.Unavailable');
    expect(result.unknown.name).toBe('InvalidAMIID.NotFound');
  });

  test('DeleteAssociatedSnapshots deletes unshared snapshots and reports the shared ones as skipped', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'eu-west-1');

    const result = await virtually(async () => {
      const [image] = sim.seed.images([{ region: 'eu-west-1', name: buildName('amd64'), volumeSizeGiB: 10 }]);
      const shared = await ec2.send(
        new RegisterImageCommand({
          Name: 'shares the snapshot',
          RootDeviceName: '/dev/sda1',
          BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: image!.snapshotIds[0] } }],
        }),
      );
      const skipped = await ec2.send(
        new DeregisterImageCommand({ ImageId: image!.imageId, DeleteAssociatedSnapshots: true }),
      );
      const deleted = await ec2.send(
        new DeregisterImageCommand({ ImageId: shared.ImageId!, DeleteAssociatedSnapshots: true }),
      );
      return { skipped, deleted, snapshotId: image!.snapshotIds[0]! };
    });

    expect(result.skipped.DeleteSnapshotResults).toEqual([{ SnapshotId: result.snapshotId, ReturnCode: 'skipped' }]);
    expect(result.deleted.DeleteSnapshotResults).toEqual([{ SnapshotId: result.snapshotId, ReturnCode: 'success' }]);
    expect(sim.inspect.snapshot('eu-west-1', result.snapshotId)).toBeUndefined();
    expect(sim.counters.amount('snapshotGiBDeleted')).toBe(10);
  });

  test('DeleteSnapshot answers InUse while an image uses it and NotFound once it is gone', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'eu-west-1');

    const result = await virtually(async () => {
      const [image] = sim.seed.images([{ region: 'eu-west-1', name: buildName('amd64') }]);
      const snapshotId = image!.snapshotIds[0]!;
      const inUse = await rejection(ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })));
      await ec2.send(new DeregisterImageCommand({ ImageId: image!.imageId }));
      await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
      const gone = await rejection(ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })));
      return { inUse, gone };
    });

    expect(result.inUse.name).toBe('InvalidSnapshot.InUse');
    expect(result.gone.name).toBe('InvalidSnapshot.NotFound');
  });
});

describe('simulated AWS: sharing', () => {
  test('image block public access is on by default; after a disable, making an AMI public fails for 10 minutes', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'ca-central-1');

    const result = await virtually(async () => {
      const [image] = sim.seed.images([{ region: 'ca-central-1', name: buildName('amd64') }]);
      const blocked = await rejection(ec2.send(makePublic(image!.imageId)));
      await ec2.send(new DisableImageBlockPublicAccessCommand({}));
      const reported = await ec2.send(new GetImageBlockPublicAccessStateCommand({}));
      await sim.clock.sleep(9 * MINUTE);
      const stillBlocked = await rejection(ec2.send(makePublic(image!.imageId)));
      await sim.clock.sleep(2 * MINUTE);
      const after = await ec2.send(new GetImageBlockPublicAccessStateCommand({}));
      const madePublicAt = sim.clock.now();
      await ec2.send(makePublic(image!.imageId));
      return { blocked, reported, stillBlocked, after, madePublicAt, imageId: image!.imageId };
    });

    expect(result.blocked).toMatchObject({ name: 'OperationNotPermitted' });
    expect(result.reported.ImageBlockPublicAccessState).toBe('block-new-sharing');
    expect(result.stillBlocked.name).toBe('OperationNotPermitted');
    expect(result.after.ImageBlockPublicAccessState).toBe('unblocked');
    expect(sim.inspect.publicImageCount('ca-central-1')).toBe(1);
    // The refused attempts left no mark: the image became public when the accepted call arrived.
    expect(sim.inspect.image('ca-central-1', result.imageId)?.publicAt).toBe(result.madePublicAt);
  });

  test('snapshot block public access: new sharing fails in both modes; block-all-sharing hides what says `all`', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'eu-west-2');
    const share = (snapshotId: string) =>
      ec2.send(
        new ModifySnapshotAttributeCommand({
          SnapshotId: snapshotId,
          Attribute: 'createVolumePermission',
          OperationType: 'add',
          GroupNames: ['all'],
        }),
      );

    const result = await virtually(async () => {
      const [old, fresh] = sim.seed.images([
        { region: 'eu-west-2', name: buildName('amd64', '20260101') },
        { region: 'eu-west-2', name: buildName('amd64', '20260305') },
      ]);
      await share(old!.snapshotIds[0]!);
      sim.setSnapshotBlockPublicAccess('eu-west-2', 'block-new-sharing');
      const newMode = await rejection(share(fresh!.snapshotIds[0]!));
      const oldStillPublic = sim.inspect.isReallyPublic('eu-west-2', old!.snapshotIds[0]!);
      sim.setSnapshotBlockPublicAccess('eu-west-2', 'block-all-sharing');
      const allMode = await rejection(share(fresh!.snapshotIds[0]!));
      const state = await ec2.send(new GetSnapshotBlockPublicAccessStateCommand({}));
      const attribute = await ec2.send(
        new DescribeSnapshotAttributeCommand({ SnapshotId: old!.snapshotIds[0]!, Attribute: 'createVolumePermission' }),
      );
      const hidden = sim.inspect.isReallyPublic('eu-west-2', old!.snapshotIds[0]!);
      return { newMode, oldStillPublic, allMode, state, attribute, hidden };
    });

    expect(result.newMode.name).toBe('OperationNotPermitted');
    expect(result.oldStillPublic).toBe(true);
    expect(result.allMode.name).toBe('OperationNotPermitted');
    expect(result.state.State).toBe('block-all-sharing');
    expect(result.attribute.CreateVolumePermissions).toEqual([{ Group: 'all' }]);
    expect(result.hidden).toBe(false);
  });

  test('an image with encrypted snapshots cannot be made public', async () => {
    const { sim, clients } = simulated();

    const error = await virtually(async () => {
      sim.setImageBlockPublicAccess('ap-northeast-1', 'unblocked');
      sim.setEncryptionByDefault('ap-northeast-1', true);
      const [source] = sim.seed.images([{ region: SOURCE_REGION, name: buildName('amd64') }]);
      const ec2 = clients.client(EC2Client, 'ap-northeast-1');
      const copy = await ec2.send(copyRequest(source!.imageId, source!.name));
      await sim.clock.sleep(2 * HOUR);
      return rejection(ec2.send(makePublic(copy.ImageId!)));
    });

    expect(error).toMatchObject({ name: 'UnsupportedOperation' });
  });

  test('the public AMI quota (5 per region by default) answers ResourceLimitExceeded', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'eu-south-1');

    const result = await virtually(async () => {
      sim.setImageBlockPublicAccess('eu-south-1', 'unblocked');
      const images = sim.seed.images(
        Array.from({ length: 6 }, (_, i) => ({ region: 'eu-south-1', name: `${buildName('amd64')} ${i}` })),
      );
      return outcomes(images.map((image) => ec2.send(makePublic(image.imageId))));
    });

    expect(result.ok).toHaveLength(5);
    expect(result.errors).toEqual(['ResourceLimitExceeded']);
    expect(sim.inspect.publicImageCount('eu-south-1')).toBe(5);
  });
});

describe('simulated AWS: describing images', () => {
  test('pages with MaxResults and NextToken, returns everything without MaxResults, and counts both', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'us-west-2');

    const result = await virtually(async () => {
      sim.seed.images(Array.from({ length: 2500 }, (_, i) => ({ region: 'us-west-2', name: `image ${i}` })));
      const pages: number[] = [];
      let token: string | undefined;
      do {
        const page = await ec2.send(
          new DescribeImagesCommand({ Owners: ['self'], MaxResults: 1000, NextToken: token }),
        );
        pages.push(page.Images!.length);
        token = page.NextToken;
      } while (token);
      const all = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
      const tooSmall = await rejection(ec2.send(new DescribeImagesCommand({ MaxResults: 4 })));
      const combined = await rejection(
        ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0123456789abcdef0'], MaxResults: 5 })),
      );
      return { pages, all: all.Images!.length, tooSmall, combined };
    });

    expect(result.pages).toEqual([1000, 1000, 500]);
    expect(result.all).toBe(2500);
    expect(result.tooSmall.name).toBe('InvalidParameterValue');
    expect(result.combined.name).toBe('InvalidParameterCombination');
    expect(sim.counters.results({ operation: 'DescribeImages', region: 'us-west-2' })).toBe(5000);
    expect(sim.counters.unpaginated({ operation: 'DescribeImages' }).map((l) => l.results)).toEqual([2500]);
  });

  test('filters on name wildcards, state, tags, tag keys and is-public; an unknown filter is invalid', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'eu-west-1');

    const result = await virtually(async () => {
      sim.seed.images([
        { region: 'eu-west-1', name: buildName('amd64'), tags: { series: 'a' }, public: true },
        { region: 'eu-west-1', name: buildName('arm64'), tags: { series: 'b' } },
        { region: 'eu-west-1', name: 'unmanaged image' },
      ]);
      const names = async (filters: { Name: string; Values: string[] }[]) =>
        ((await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: filters }))).Images ?? [])
          .map((i) => i.Name)
          .sort();
      return {
        wildcard: await names([{ Name: 'name', Values: ['FreeBSD 15.0-CURRENT-*'] }]),
        tag: await names([{ Name: 'tag:series', Values: ['b'] }]),
        tagKey: await names([{ Name: 'tag-key', Values: ['series'] }]),
        isPublic: await names([{ Name: 'is-public', Values: ['true'] }]),
        state: await names([
          { Name: 'state', Values: ['available'] },
          { Name: 'name', Values: ['unmanaged ?mage'] },
        ]),
        invalid: await rejection(
          ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] })),
        ),
      };
    });

    expect(result.wildcard).toEqual([buildName('amd64'), buildName('arm64')]);
    expect(result.tag).toEqual([buildName('arm64')]);
    expect(result.tagKey).toHaveLength(2);
    expect(result.isPublic).toEqual([buildName('amd64')]);
    expect(result.state).toEqual(['unmanaged image']);
    expect(result.invalid.name).toBe('InvalidParameterValue');
  });

  test('a deprecation time is rounded to the minute and shown by DescribeImages', async () => {
    const { sim, clients } = simulated();
    const ec2 = clients.client(EC2Client, 'eu-west-1');

    const image = await virtually(async () => {
      const [seeded] = sim.seed.images([{ region: 'eu-west-1', name: buildName('amd64') }]);
      await ec2.send(
        new EnableImageDeprecationCommand({
          ImageId: seeded!.imageId,
          DeprecateAt: new Date('2027-03-05T10:20:40Z'),
        }),
      );
      return (await ec2.send(new DescribeImagesCommand({ ImageIds: [seeded!.imageId] }))).Images![0]!;
    });

    expect(image.DeprecationTime).toBe('2027-03-05T10:21:00.000Z');
  });
});
