import {
  DescribeImagesCommand,
  type DescribeImagesCommandOutput,
  DescribeSnapshotsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ClientFactory } from '../../lambdas/aws/clients';
import { runPrune } from '../../lambdas/aws/prune';
import { type Clock, unlimited } from '../../lambdas/aws/rate-limiter';
import { parseConfig, type PipelineConfig } from '../../lambdas/core/config';
import { TAG } from '../../lambdas/core/tags';
import { DEFAULT_FLEET_SERIES, type FleetImage, type SeededImage, seedFleet, weeklyFleet } from '../support/fleet';
import { intercept } from '../support/intercept';
import { DAY_MS } from '../../lambdas/core/time';

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
// Snapshots in the emulator start "now"; planning a month later lets orphan-snapshot grace periods pass.
const NOW = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS + 30 * DAY_MS + 12 * 3_600_000);
const isoDaysBefore = (days: number) => new Date(NOW.getTime() - days * DAY_MS).toISOString().slice(0, 10);
const NEWEST_BUILD = isoDaysBefore(10);
const MANAGED = { 'ami-pipeline:managed-by': 'ami-pipeline' };
const SERIES = [...DEFAULT_FLEET_SERIES, '15.0-CURRENT/amd64/small/ufs', '14.2-STABLE/amd64/cloud-init/ufs'];
const SSM_PARAMETER = '/ami-pipeline/freebsd/amd64/base/ufs/15.0/CURRENT';

const config: PipelineConfig = parseConfig({
  retention: { keepNewest: 4, minAgeDays: 30, prereleaseGraceDays: 30, orphanSnapshotGraceDays: 14 },
  safety: { maxDeleteShare: 0.5, maxDeletionsPerRun: 10_000 },
});

interface Expected {
  readonly image: SeededImage;
  readonly survives: boolean;
}

function extras(region: string): FleetImage[] {
  const base = { region, description: 'FreeBSD/amd64 releng/14.3@abcdef0', arch: 'amd64' as const };
  const old = isoDaysBefore(200).replaceAll('-', '');
  return [
    {
      ...base,
      name: 'FreeBSD 14.3-RELEASE-amd64 base UFS',
      tags: { ...MANAGED, [TAG.publishedAt]: `${isoDaysBefore(60)}T00:00:00Z` },
    },
    { ...base, name: 'FreeBSD 14.3-BETA1-amd64 base UFS', tags: MANAGED },
    { ...base, name: 'FreeBSD 14.3-BETA2-amd64 base UFS', tags: MANAGED },
    { ...base, name: 'FreeBSD 14.3-RC1-amd64 base UFS', tags: MANAGED },
    { ...base, name: 'FreeBSD 14.4-BETA1-amd64 base UFS', tags: MANAGED },
    { ...base, name: 'my golden image', tags: {} },
    { ...base, name: 'FreeBSD nightly experiment', tags: MANAGED },
    { ...base, name: `FreeBSD 14.3-STABLE-arm64-${old} base UFS`, arch: 'arm64', tags: {} },
  ];
}

function fleet(): FleetImage[] {
  const weekly = weeklyFleet({
    regions: REGIONS,
    series: SERIES.slice(0, 7),
    weeks: 12,
    newestBuildDate: NEWEST_BUILD,
  });
  // 14.2-STABLE stopped when the branch moved to 14.3: its builds are older than every 14.3 build of the line.
  const stopped = weeklyFleet({
    regions: REGIONS,
    series: SERIES.slice(7),
    weeks: 12,
    newestBuildDate: isoDaysBefore(101),
  });
  return [...weekly, ...stopped, ...REGIONS.flatMap(extras)];
}

function expectation(seeded: readonly SeededImage[]): Expected[] {
  const ssmTarget = seeded.find(
    (s) => s.name.startsWith('FreeBSD 15.0-CURRENT-amd64-') && s.name.endsWith(' base UFS'),
  );
  void ssmTarget;
  return seeded.map((image) => {
    const date = /-(\d{8}) /.exec(image.name)?.[1];
    const built = date
      ? Date.parse(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6)}T00:00:00Z`)
      : NOW.getTime();
    const age = Math.floor((NOW.getTime() - built) / DAY_MS);
    let survives: boolean;
    if (image.name.includes('14.2-STABLE')) survives = false;
    else if (/-(BETA|RC)\d-amd64/.test(image.name)) survives = image.name.includes('14.4-BETA1');
    else if (!date || Object.keys(image.tags).length === 0) survives = true;
    else survives = age <= 31 || isSsmTarget(image);
    return { image, survives };
  });
}

function isSsmTarget(image: SeededImage): boolean {
  return image.name === `FreeBSD 15.0-CURRENT-amd64-${isoDaysBefore(10 + 7 * 8).replaceAll('-', '')} base UFS`;
}

async function survivors(clients: ClientFactory) {
  const state: Record<string, { images: string[]; snapshots: string[] }> = {};
  for (const region of REGIONS) {
    const ec2 = clients.client(EC2Client, region);
    const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    const snapshots = (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? [];
    state[region] = {
      images: images.map((i) => i.ImageId!).sort(),
      snapshots: snapshots.map((s) => s.SnapshotId!).sort(),
    };
  }
  return state;
}

describe('prune against the emulator: 3 regions x 12 weeks x 8 series', () => {
  let seeded: SeededImage[];
  let expected: Expected[];
  let sharedSnapshot: { imageId: string; snapshotId: string };
  const admin = new ClientFactory({ maxAttempts: 2 });

  /**
   * Clients that see what moto cannot store: one aged-out image whose block device mappings also list the snapshot of
   * the newest build (a snapshot shared by two images; moto invents one snapshot per RegisterImage and ignores the
   * mappings it is given).
   */
  function clientsWithSharedSnapshot(): ClientFactory {
    const clients = new ClientFactory({ maxAttempts: 3 });
    intercept(clients.client(EC2Client, 'us-east-1'), 'initialize', async (command, _input, next) => {
      const result = await next();
      if (command === 'DescribeImagesCommand') {
        for (const image of (result.output as DescribeImagesCommandOutput).Images ?? []) {
          if (image.ImageId === sharedSnapshot.imageId) {
            image.BlockDeviceMappings = [
              ...(image.BlockDeviceMappings ?? []),
              { DeviceName: '/dev/sdf', Ebs: { SnapshotId: sharedSnapshot.snapshotId, VolumeSize: 15 } },
            ];
          }
        }
      }
      return result;
    });
    return clients;
  }

  beforeAll(async () => {
    seeded = await seedFleet(admin, fleet());
    expected = expectation(seeded);
    for (const region of REGIONS) {
      const target = seeded.find((s) => s.region === region && isSsmTarget(s))!;
      await admin
        .client(SSMClient, region)
        .send(new PutParameterCommand({ Name: SSM_PARAMETER, Value: target.imageId, Type: 'String' }));
    }
    const east = seeded.filter((s) => s.region === 'us-east-1');
    const newest = east.find(
      (s) => s.name === `FreeBSD 15.0-CURRENT-amd64-${NEWEST_BUILD.replaceAll('-', '')} base UFS`,
    )!;
    const oldest = east.find(
      (s) => s.name === `FreeBSD 15.0-CURRENT-amd64-${isoDaysBefore(10 + 77).replaceAll('-', '')} base UFS`,
    )!;
    sharedSnapshot = { imageId: oldest.imageId, snapshotId: newest.snapshotIds[0]! };
  }, 120_000);

  test('the fleet has the planned shape', () => {
    expect(seeded).toHaveLength(3 * (8 * 12 + 8));
    expect(expected.filter((e) => e.survives).length).toBe(3 * (7 * 4 + 1 + 5));
  });

  test('a dry run is the default: it reports the plan and deletes nothing', async () => {
    const before = await survivors(admin);

    const result = await runPrune({
      config,
      clients: clientsWithSharedSnapshot(),
      now: NOW,
      regions: REGIONS,
      overrideBreaker: true,
    });

    expect(result.executed).toBe(false);
    expect(await survivors(admin)).toEqual(before);
    const east = result.report.regions.find((r) => r.region === 'us-east-1')!;
    expect(east.imagesDeregistered).toBe(7 * 8 - 1 + 12 + 3);
    expect(east.unmanagedFound).toBe(3);
    expect(east.keptByReason).toMatchObject({
      'ssm-referenced': 1,
      release: 1,
      'prerelease-awaiting-release': 1,
      untagged: 1,
    });
  });

  test('the breaker refuses regions whose plan deletes more than half of their managed images', async () => {
    const before = await survivors(admin);

    const result = await runPrune({
      config,
      clients: clientsWithSharedSnapshot(),
      now: NOW,
      regions: REGIONS,
      execute: true,
    });

    expect(await survivors(admin)).toEqual(before);
    for (const region of result.report.regions) {
      expect(region.breaker).toMatchObject({ tripped: true, managedImages: 8 * 12 + 5 + 1 - 1 });
      expect(region.imagesDeregistered).toBe(0);
    }
  });

  test('a crashed invocation and a batch out of time resume to exactly the expected survivors', async () => {
    // Prepare: an invocation that dies after k successful deletions (every later call fails, as if killed)
    const crashing = clientsWithSharedSnapshot();
    let deletions = 0;
    const k = 5;
    for (const region of REGIONS) {
      intercept(crashing.client(EC2Client, region), 'initialize', async (command, _input, next) => {
        const mutating = command === 'DeregisterImageCommand' || command === 'DeleteSnapshotCommand';
        if (!mutating) return next();
        if (deletions >= k) throw Object.assign(new Error('invocation killed'), { name: 'Killed' });
        deletions++;
        return next();
      });
    }
    const virtualTime = { now: 0 };
    const ticking: Clock = { now: () => (virtualTime.now += 1000), sleep: async () => undefined };

    // Act
    const crashed = await runPrune({
      config,
      clients: crashing,
      now: NOW,
      regions: REGIONS,
      execute: true,
      overrideBreaker: true,
      limiter: unlimited,
    });
    const batch = await runPrune({
      config,
      clients: clientsWithSharedSnapshot(),
      now: NOW,
      regions: REGIONS,
      execute: true,
      overrideBreaker: true,
      budgetMs: 20_000,
      clock: ticking,
      capBoundary: crashed.plan.capBoundary,
    });
    const final = await runPrune({
      config,
      clients: clientsWithSharedSnapshot(),
      now: NOW,
      regions: REGIONS,
      execute: true,
      overrideBreaker: true,
      capBoundary: crashed.plan.capBoundary,
    });

    // Assess
    expect(deletions).toBe(k);
    expect(crashed.report.totals.failures).toBeGreaterThan(0);
    // An odd k leaves at least one image deregistered whose snapshot deletion never happened.
    expect(crashed.report.totals.imagesDeregistered).toBeGreaterThan(crashed.report.totals.snapshotsDeleted);
    expect(batch.complete).toBe(false);
    expect(batch.report.totals.imagesDeregistered).toBeGreaterThan(0);
    expect(final.complete).toBe(true);
    expect(final.report.totals.failures).toBe(0);
    expect(final.report.totals.gibReclaimed).toBe(15 * final.report.totals.snapshotsDeleted);
    const state = await survivors(admin);
    for (const region of REGIONS) {
      const keep = expected.filter((e) => e.survives && e.image.region === region);
      expect(state[region]!.images).toEqual(keep.map((e) => e.image.imageId).sort());
      expect(state[region]!.snapshots).toEqual(keep.flatMap((e) => e.image.snapshotIds).sort());
    }
    expect(state['us-east-1']!.snapshots).toContain(sharedSnapshot.snapshotId);
    const total =
      crashed.report.totals.imagesDeregistered +
      batch.report.totals.imagesDeregistered +
      final.report.totals.imagesDeregistered;
    expect(total).toBeLessThanOrEqual(3 * (7 * 8 - 1 + 12 + 3));
  });

  test('a second run is a no-op: nothing planned, no deleting call made', async () => {
    const clients = clientsWithSharedSnapshot();
    const calls: string[] = [];
    for (const region of REGIONS) {
      intercept(clients.client(EC2Client, region), 'initialize', async (command, _input, next) => {
        calls.push(command);
        return next();
      });
    }

    const result = await runPrune({
      config,
      clients,
      now: NOW,
      regions: REGIONS,
      execute: true,
      overrideBreaker: true,
    });

    expect(result.report.totals).toEqual({
      imagesDeregistered: 0,
      snapshotsDeleted: 0,
      gibReclaimed: 0,
      remainingOverCap: 0,
      failures: 0,
    });
    expect(calls.filter((c) => !c.startsWith('Describe'))).toEqual([]);
  });
});
