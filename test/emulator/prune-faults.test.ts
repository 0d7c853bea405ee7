import {
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  type DescribeImagesCommandOutput,
  DescribeSnapshotsCommand,
  ModifyImageAttributeCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { ClientFactory } from '../../lambdas/aws/clients';
import { runAdopt, runPrune } from '../../lambdas/aws/prune';
import { parseConfig } from '../../lambdas/core/config';
import { seedFleet, type SeededImage, weeklyFleet } from '../support/fleet';
import { intercept } from '../support/intercept';
import { DAY_MS } from '../../lambdas/core/time';

const NOW = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS + 30 * DAY_MS);
const newest = new Date(NOW.getTime() - 3 * DAY_MS).toISOString().slice(0, 10);
const SERIES = ['15.0-CURRENT/amd64/base/ufs', '14.3-STABLE/arm64/small/ufs'];
const config = parseConfig({
  retention: { keepNewest: 2, minAgeDays: 0 },
  safety: { maxDeleteShare: 1, maxDeletionsPerRun: 1000 },
});

const awsError = (name: string, message: string) =>
  Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });

async function state(clients: ClientFactory, region: string) {
  const ec2 = clients.client(EC2Client, region);
  const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
  const snapshots = (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? [];
  return { images: new Set(images.map((i) => i.ImageId!)), snapshots: new Set(snapshots.map((s) => s.SnapshotId!)) };
}

describe('prune under injected faults', () => {
  const admin = new ClientFactory({ maxAttempts: 1 });
  let seeded: SeededImage[];

  beforeAll(async () => {
    seeded = await seedFleet(
      admin,
      weeklyFleet({ regions: ['us-east-1', 'eu-west-1'], series: SERIES, weeks: 10, newestBuildDate: newest }),
    );
  }, 60_000);

  test('throttling storms, InUse, protection, NotFound and a failing region: the rest completes and the report says what happened', async () => {
    // Prepare: the oldest builds of us-east-1 each get one fault.
    const east = seeded.filter((s) => s.region === 'us-east-1' && s.name.includes('15.0-CURRENT'));
    const [protectedImage, protectedLater, inUse, goneImage, goneSnapshot] = east.slice(-5);
    // Standard retry mode: adaptive mode's client-side rate limiting would stretch this storm to a minute of waiting.
    const clients = new ClientFactory({ maxAttempts: 8, retryMode: 'standard' });
    const ec2 = clients.client(EC2Client, 'us-east-1');
    const throttled = new Set<string>();
    let throttles = 0;
    intercept(ec2, 'deserialize', async (command, input, next) => {
      // A storm: the first attempt of every deletion is throttled; the SDK's retries must carry it through.
      const key = `${command}:${String(input.ImageId ?? input.SnapshotId)}`;
      if ((command === 'DeregisterImageCommand' || command === 'DeleteSnapshotCommand') && !throttled.has(key)) {
        throttled.add(key);
        throttles++;
        throw Object.assign(awsError('RequestLimitExceeded', 'Request limit exceeded.'), {
          $metadata: { httpStatusCode: 503 },
        });
      }
      return next();
    });
    intercept(ec2, 'initialize', async (command, input, next) => {
      if (command === 'DeregisterImageCommand' && input.ImageId === protectedLater!.imageId) {
        throw awsError('OperationNotPermitted', 'Deregistration protection is enabled for this image.');
      }
      if (command === 'DeleteSnapshotCommand' && input.SnapshotId === inUse!.snapshotIds[0]) {
        throw awsError('InvalidSnapshot.InUse', `The snapshot ${inUse!.snapshotIds[0]} is currently in use`);
      }
      if (command === 'DeregisterImageCommand' && input.ImageId === goneImage!.imageId) {
        await admin.client(EC2Client, 'us-east-1').send(new DeregisterImageCommand({ ImageId: goneImage!.imageId }));
      }
      if (command === 'DeleteSnapshotCommand' && input.SnapshotId === goneSnapshot!.snapshotIds[0]) {
        await admin
          .client(EC2Client, 'us-east-1')
          .send(new DeleteSnapshotCommand({ SnapshotId: goneSnapshot!.snapshotIds[0] }));
      }
      const result = await next();
      if (command === 'DescribeImagesCommand') {
        for (const image of (result.output as DescribeImagesCommandOutput).Images ?? []) {
          if (image.ImageId === protectedImage!.imageId) image.DeregistrationProtection = 'enabled';
        }
      }
      return result;
    });
    intercept(clients.client(EC2Client, 'us-west-2'), 'initialize', async () => {
      throw awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.');
    });

    // Act
    const result = await runPrune({
      config,
      clients,
      now: NOW,
      regions: ['us-east-1', 'eu-west-1', 'us-west-2'],
      execute: true,
    });

    // Assess
    const [eastReport, westReport, failedReport] = ['us-east-1', 'eu-west-1', 'us-west-2'].map(
      (r) => result.report.regions.find((x) => x.region === r)!,
    );
    expect(throttles).toBeGreaterThan(25);
    expect(westReport).toMatchObject({ imagesDeregistered: 16, snapshotsDeleted: 16, failures: [] });
    expect(failedReport!.error).toContain('not authorized');
    expect(eastReport!.keptByReason['deregistration-protected']).toBe(1);
    expect(eastReport!.failures).toEqual([
      expect.objectContaining({ id: protectedLater!.imageId, code: 'OperationNotPermitted' }),
    ]);
    expect(eastReport!.snapshotsInUse).toEqual([inUse!.snapshotIds[0]]);
    expect(eastReport!.imagesDeregistered).toBe(16 - 1 - 1 - 1);
    expect(eastReport!.snapshotsDeleted).toBe(16 - 1 - 1 - 1);
    const after = await state(admin, 'us-east-1');
    expect(after.images.has(protectedImage!.imageId)).toBe(true);
    expect(after.images.has(protectedLater!.imageId)).toBe(true);
    expect(after.snapshots.has(protectedLater!.snapshotIds[0]!)).toBe(true);
    expect(after.images.has(inUse!.imageId)).toBe(false);
    expect(after.snapshots.has(inUse!.snapshotIds[0]!)).toBe(true);
    expect(after.images.has(goneImage!.imageId) || after.snapshots.has(goneImage!.snapshotIds[0]!)).toBe(false);
    expect(after.snapshots.has(goneSnapshot!.snapshotIds[0]!)).toBe(false);
    expect(result.report.totals.failures).toBe(2);
  });
});

describe('adopt', () => {
  const admin = new ClientFactory({ maxAttempts: 1 });

  test('tags parseable untagged images and their snapshots, leaves other names alone, and is a dry run by default', async () => {
    const untagged = await seedFleet(
      admin,
      weeklyFleet({
        regions: ['ca-central-1'],
        series: ['13.5-STABLE/amd64/builder/ufs'],
        weeks: 3,
        newestBuildDate: newest,
        tags: {},
      }),
    );
    const [foreign] = await seedFleet(admin, [
      { region: 'ca-central-1', name: 'team golden image', description: '', arch: 'amd64', tags: {} },
    ]);

    const dry = await runAdopt({ config, clients: admin, now: NOW, regions: ['ca-central-1'] });
    const applied = await runAdopt({ config, clients: admin, now: NOW, regions: ['ca-central-1'], execute: true });

    expect(dry.executed).toBe(false);
    expect(dry.plan.regions[0]!.entries.filter((e) => e.action === 'tag')).toHaveLength(3);
    expect(applied.tagged).toHaveLength(6);
    const ec2 = admin.client(EC2Client, 'ca-central-1');
    const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images!;
    const snapshots = (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots!;
    const managed = (tags: { Key?: string; Value?: string }[] | undefined) =>
      (tags ?? []).some((t) => t.Key === 'ami-pipeline:managed-by' && t.Value === 'ami-pipeline');
    for (const image of untagged) {
      expect(managed(images.find((i) => i.ImageId === image.imageId)!.Tags)).toBe(true);
      expect(managed(snapshots.find((s) => s.SnapshotId === image.snapshotIds[0])!.Tags)).toBe(true);
    }
    expect(managed(images.find((i) => i.ImageId === foreign!.imageId)!.Tags)).toBe(false);
    const plan = await runPrune({ config, clients: admin, now: NOW, regions: ['ca-central-1'] });
    expect(plan.report.regions[0]!.unmanagedFound).toBe(1);
    expect(plan.report.regions[0]!.imagesDeregistered).toBe(1);
  });
});

describe('soft delete', () => {
  const admin = new ClientFactory({ maxAttempts: 1 });

  test('first makes aged images private and tags a deletion date, then deletes them once that date has passed', async () => {
    // Prepare
    const seededImages = await seedFleet(
      admin,
      weeklyFleet({ regions: ['us-west-1'], series: SERIES.slice(0, 1), weeks: 3, newestBuildDate: newest }),
    );
    const ec2 = admin.client(EC2Client, 'us-west-1');
    for (const image of seededImages) {
      await ec2.send(
        new ModifyImageAttributeCommand({ ImageId: image.imageId, LaunchPermission: { Add: [{ Group: 'all' }] } }),
      );
    }
    const soft = parseConfig({
      retention: { keepNewest: 1, minAgeDays: 0, softDeleteGraceDays: 7 },
      safety: { maxDeleteShare: 1 },
    });
    const run = (now: Date) => runPrune({ config: soft, clients: admin, now, regions: ['us-west-1'], execute: true });

    // Act
    const first = await run(NOW);
    const early = await run(new Date(NOW.getTime() + 3 * DAY_MS));
    const due = await run(new Date(NOW.getTime() + 8 * DAY_MS));

    // Assess
    expect(first.report.regions[0]).toMatchObject({ imagesSoftDeleted: 2, imagesDeregistered: 0 });
    expect(early.report.regions[0]).toMatchObject({ imagesSoftDeleted: 0, imagesDeregistered: 0 });
    expect(early.report.regions[0]!.keptByReason['soft-delete-pending']).toBe(2);
    expect(due.report.regions[0]).toMatchObject({ imagesDeregistered: 2, snapshotsDeleted: 2 });
    const left = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images!;
    expect(left.map((i) => i.ImageId)).toEqual([seededImages[0]!.imageId]);
    expect(left[0]!.Public).toBe(true);
  });

  test('a soft-deleted image is private and carries its deletion date', async () => {
    const [image] = await seedFleet(
      admin,
      weeklyFleet({ regions: ['us-east-2'], series: SERIES.slice(0, 1), weeks: 2, newestBuildDate: newest }),
    );
    const ec2 = admin.client(EC2Client, 'us-east-2');
    const old = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images!.find(
      (i) => i.ImageId !== image!.imageId,
    )!;
    await ec2.send(
      new ModifyImageAttributeCommand({ ImageId: old.ImageId, LaunchPermission: { Add: [{ Group: 'all' }] } }),
    );
    const soft = parseConfig({
      retention: { keepNewest: 1, minAgeDays: 0, softDeleteGraceDays: 7 },
      safety: { maxDeleteShare: 1 },
    });

    await runPrune({ config: soft, clients: admin, now: NOW, regions: ['us-east-2'], execute: true });

    const after = (await ec2.send(new DescribeImagesCommand({ ImageIds: [old.ImageId!] }))).Images![0]!;
    expect(after.Public).toBe(false);
    expect(after.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'ami-pipeline:delete-after', Value: new Date(NOW.getTime() + 7 * DAY_MS).toISOString().slice(0, 10) },
      ]),
    );
  });
});
