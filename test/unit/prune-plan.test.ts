import fc from 'fast-check';
import { defaultConfig } from '../../lambdas/core/config';
import { freebsdProfile } from '../../lambdas/core/naming';
import {
  planAdopt,
  pruneReport,
  type InventoryImage,
  type InventorySnapshot,
  type PrunePlan,
  type PrunePolicy,
  planPrune,
  prunePolicy,
  type PruneInventory,
} from '../../lambdas/core/prune';
import { TAG } from '../../lambdas/core/tags';
import { DAY_MS } from '../../lambdas/core/time';
import {
  ACCOUNT,
  dateAgo,
  detail,
  findEntry,
  image,
  MANAGED,
  NOW,
  policy,
  regionOf,
  snapshot,
  verdict,
} from '../support/prune-inventory';

function weekly(series: string, weeks: number, newestDaysAgo: number, prefix: string): InventoryImage[] {
  const [versionBranch, arch, flavour, fs] = series.split('/') as [string, string, string, string];
  return Array.from({ length: weeks }, (_, week) => {
    const date = dateAgo(newestDaysAgo + 7 * week).replaceAll('-', '');
    return image(
      `ami-${prefix}${String(week).padStart(3, '0')}`,
      `FreeBSD ${versionBranch}-${arch}-${date} ${flavour} ${fs.toUpperCase()}`,
    );
  });
}

const deletions = (plan: PrunePlan) =>
  plan.regions.flatMap((r) => [
    ...r.images.filter((i) => i.action === 'deregister' || i.action === 'soft-delete').map((i) => i.imageId),
    ...r.snapshots.filter((s) => s.action === 'delete').map((s) => s.snapshotId),
  ]);

describe('planPrune retention rules', () => {
  test('keeps the newest N builds of a line and every build younger than the minimum age, by the date in the name', () => {
    const images = weekly('15.0-CURRENT/amd64/base/ufs', 20, 3, 'c');
    // A copy's CreationDate is its copy time: a brand-new copy of an old build still ages from its name.
    const copied = images.map((i) => ({ ...i, creationDate: NOW.toISOString() }));

    const plan = planPrune([regionOf(copied)], policy({ retention: { keepNewest: 4, minAgeDays: 90 } }), NOW);

    const byWeek = copied.map((i) => verdict(plan, i.imageId));
    expect(byWeek.slice(0, 4).every((a) => a.reason === 'newest-builds')).toBe(true);
    // weeks 4..12 are 31..87 days old, week 13 is 94 days old
    expect(byWeek.slice(4, 13).every((a) => a.reason === 'min-age' && a.action === 'keep')).toBe(true);
    expect(byWeek.slice(13).every((a) => a.action === 'deregister' && a.reason === 'aged-out')).toBe(true);
    expect(verdict(plan, `snap-${copied[19]!.imageId.slice(4)}`)).toEqual({
      action: 'delete',
      reason: 'image-deregistered',
    });
  });

  test('counts builds per line, so a STABLE series that stopped at a minor version bump does not keep its last N forever', () => {
    const current = weekly('14.3-STABLE/amd64/base/ufs', 6, 1, 'n');
    const stopped = weekly('14.2-STABLE/amd64/base/ufs', 6, 200, 'o');

    const plan = planPrune(
      [regionOf([...current, ...stopped])],
      policy({ retention: { keepNewest: 4, minAgeDays: 90 } }),
      NOW,
    );

    expect(stopped.map((i) => verdict(plan, i.imageId).action)).toEqual(Array(6).fill('deregister'));
    expect(current.slice(0, 4).map((i) => verdict(plan, i.imageId).reason)).toEqual(Array(4).fill('newest-builds'));
  });

  test('a CURRENT line followed by a newer major version loses the keep-newest guarantee but keeps young builds', () => {
    const old = weekly('15.0-CURRENT/amd64/base/ufs', 6, 80, 'o');
    const next = weekly('16.0-CURRENT/amd64/base/ufs', 2, 1, 'n');

    const plan = planPrune(
      [regionOf([...old, ...next])],
      policy({ retention: { keepNewest: 4, minAgeDays: 90 } }),
      NOW,
    );

    expect(old.map((i) => verdict(plan, i.imageId).action)).toEqual([
      'keep',
      'keep',
      'deregister',
      'deregister',
      'deregister',
      'deregister',
    ]);
    expect(verdict(plan, old[0]!.imageId).reason).toBe('min-age');
    expect(plan.regions[0]!.images.find((i) => i.imageId === old[5]!.imageId)!.detail).toContain('16-CURRENT');
  });

  test('a CURRENT line past its end of life follows nothing: the older line keeps its newest, in one run as in many', () => {
    const old = weekly('15.0-CURRENT/amd64/base/ufs', 3, 10, 'o');
    const retiredNext = weekly('16.0-CURRENT/amd64/base/ufs', 2, 20, 'n');
    const settings = policy({
      retention: { keepNewest: 1, minAgeDays: 0, lineEndOfLife: { '16-CURRENT': '2026-11-01' } },
    });

    const plan = planPrune([regionOf([...old, ...retiredNext])], settings, NOW);
    const alone = planPrune([regionOf(old)], settings, NOW);

    expect(retiredNext.map((i) => verdict(plan, i.imageId).reason)).toEqual(Array(2).fill('line-end-of-life'));
    expect(old.map((i) => verdict(plan, i.imageId))).toEqual(old.map((i) => verdict(alone, i.imageId)));
    expect(verdict(plan, old[0]!.imageId).reason).toBe('newest-builds');
  });

  test('a development line past its end of life loses keep-newest: its builds age out, young and protected ones stay', () => {
    // 13-STABLE stopped 120 days ago; its last builds were the newest four of the line.
    const retired = weekly('13.5-STABLE/amd64/base/ufs', 6, 120, 'r');
    const young = weekly('13.5-STABLE/arm64/base/ufs', 1, 40, 'y');
    const referenced = weekly('13.5-STABLE/amd64/small/ufs', 1, 130, 's');
    const launched = weekly('13.5-STABLE/amd64/base/zfs', 1, 130, 'l').map((i) => ({
      ...i,
      lastLaunchedTime: new Date(NOW.getTime() - 2 * DAY_MS).toISOString(),
    }));
    const protectedImage = weekly('13.5-STABLE/arm64/small/zfs', 1, 130, 'p').map((i) => ({
      ...i,
      deregistrationProtection: 'enabled',
    }));
    const live = weekly('14.3-STABLE/amd64/base/ufs', 6, 120, 'n');
    const fleet = [...retired, ...young, ...referenced, ...launched, ...protectedImage, ...live];
    const settings = { retention: { keepNewest: 4, minAgeDays: 90, keepLaunchedWithinDays: 30 } };

    const plan = planPrune(
      [regionOf(fleet, { ssmReferences: { [referenced[0]!.imageId]: ['/p/amd64/small/ufs/13.5/STABLE'] } })],
      policy({ retention: { ...settings.retention, lineEndOfLife: { '13-STABLE': '2026-08-01' } } }),
      NOW,
    );
    const before = planPrune(
      [regionOf(fleet, { ssmReferences: { [referenced[0]!.imageId]: ['/p/amd64/small/ufs/13.5/STABLE'] } })],
      policy({ retention: { ...settings.retention, lineEndOfLife: { '13-STABLE': '2026-12-31' } } }),
      NOW,
    );

    expect(retired.map((i) => verdict(plan, i.imageId))).toEqual(
      Array(6).fill({ action: 'deregister', reason: 'line-end-of-life' }),
    );
    expect(plan.regions[0]!.images.find((i) => i.imageId === retired[0]!.imageId)!.detail).toContain(
      'line 13-STABLE reached its end of life on 2026-08-01',
    );
    expect(verdict(plan, young[0]!.imageId)).toEqual({ action: 'keep', reason: 'min-age' });
    expect(verdict(plan, referenced[0]!.imageId)).toEqual({ action: 'keep', reason: 'ssm-referenced' });
    expect(verdict(plan, launched[0]!.imageId)).toEqual({ action: 'keep', reason: 'recently-launched' });
    expect(verdict(plan, protectedImage[0]!.imageId)).toEqual({ action: 'keep', reason: 'deregistration-protected' });
    expect(live.slice(0, 4).map((i) => verdict(plan, i.imageId).reason)).toEqual(Array(4).fill('newest-builds'));
    expect(plan.retiredLines).toEqual([{ line: '13-STABLE', endOfLife: '2026-08-01' }]);
    // Before its date the line keeps its newest builds like any other.
    expect(retired.slice(0, 4).map((i) => verdict(before, i.imageId).reason)).toEqual(Array(4).fill('newest-builds'));
    expect(before.retiredLines).toEqual([]);
  });

  test('the report says which lines are retired and how much they held', () => {
    const retired = weekly('13.5-STABLE/amd64/base/ufs', 3, 120, 'r');
    const young = weekly('13.5-STABLE/arm64/base/ufs', 1, 40, 'y');
    const live = weekly('14.3-STABLE/amd64/base/ufs', 2, 1, 'n');
    const plan = planPrune(
      [regionOf([...retired, ...young, ...live])],
      policy({
        retention: { minAgeDays: 90, lineEndOfLife: { '13-STABLE': '2026-08-01', '12-STABLE': '2024-12-31' } },
      }),
      NOW,
    );

    const report = pruneReport(plan, [], { dryRun: true });

    expect(report.retiredLines).toEqual([
      {
        line: '12-STABLE',
        endOfLife: '2024-12-31',
        images: 0,
        snapshots: 0,
        gib: 0,
        imagesDeleted: 0,
        keptByReason: {},
      },
      {
        line: '13-STABLE',
        endOfLife: '2026-08-01',
        images: 4,
        snapshots: 4,
        gib: 24,
        imagesDeleted: 3,
        keptByReason: { 'min-age': 1 },
      },
    ]);
  });

  test('pre-releases go a grace period after their RELEASE is published here; releases stay until end of life', () => {
    const release = image('ami-r143', 'FreeBSD 14.3-RELEASE-amd64 base UFS', {
      tags: { ...MANAGED, [TAG.publishedAt]: `${dateAgo(40)}T00:00:00Z` },
    });
    const beta = image('ami-b143', 'FreeBSD 14.3-BETA2-amd64 base UFS');
    const rc = image('ami-c143', 'FreeBSD 14.3-RC1-amd64 base UFS');
    const otherFlavourRc = image('ami-d143', 'FreeBSD 14.3-RC1-amd64 small UFS');
    const recentRelease = image('ami-r144', 'FreeBSD 14.4-RELEASE-amd64 base UFS', {
      tags: { ...MANAGED, [TAG.publishedAt]: `${dateAgo(10)}T00:00:00Z` },
    });
    const recentRc = image('ami-c144', 'FreeBSD 14.4-RC1-amd64 base UFS');
    const oldRelease = image('ami-r134', 'FreeBSD 13.4-RELEASE-amd64 base UFS');
    const oldRc = image('ami-c134', 'FreeBSD 13.4-RC3-amd64 base UFS');
    const fleet = [release, beta, rc, otherFlavourRc, recentRelease, recentRc, oldRelease, oldRc];

    const plan = planPrune(
      [regionOf(fleet)],
      policy({
        retention: { prereleaseGraceDays: 30, releaseEndOfLife: { '13.4': '2026-06-30', '14.3': '2027-06-30' } },
      }),
      NOW,
    );

    expect(verdict(plan, 'ami-r143')).toEqual({ action: 'keep', reason: 'release' });
    expect(verdict(plan, 'ami-b143')).toEqual({ action: 'deregister', reason: 'prerelease-after-release' });
    expect(verdict(plan, 'ami-c143')).toEqual({ action: 'deregister', reason: 'prerelease-after-release' });
    expect(verdict(plan, 'ami-d143')).toEqual({ action: 'keep', reason: 'prerelease-awaiting-release' });
    expect(verdict(plan, 'ami-c144')).toEqual({ action: 'keep', reason: 'prerelease-grace' });
    expect(verdict(plan, 'ami-r134')).toEqual({ action: 'deregister', reason: 'release-end-of-life' });
    expect(verdict(plan, 'ami-c134')).toEqual({ action: 'deregister', reason: 'release-end-of-life' });
  });

  test('keeps and reports unmanaged names, untagged, foreign, SSM-referenced, protected, recently launched and pending images', () => {
    const old = (id: string, extra: Partial<InventoryImage> = {}) =>
      image(id, `FreeBSD 14.3-STABLE-amd64-${dateAgo(300 + Number(id.slice(-2))).replaceAll('-', '')} base UFS`, extra);
    const fleet = [
      ...weekly('14.3-STABLE/amd64/base/ufs', 4, 1, 'n'),
      image('ami-x01', 'my golden image'),
      old('ami-x02', { tags: {} }),
      old('ami-x03', { ownerId: '222222222222' }),
      old('ami-x04'),
      old('ami-x05', { deregistrationProtection: 'enabled-with-cooldown' }),
      old('ami-x06', { lastLaunchedTime: new Date(NOW.getTime() - 3 * DAY_MS).toISOString() }),
      old('ami-x07', { state: 'pending' }),
      old('ami-x08', { lastLaunchedTime: new Date(NOW.getTime() - 100 * DAY_MS).toISOString() }),
    ];

    const plan = planPrune(
      [regionOf(fleet, { ssmReferences: { 'ami-x04': ['/ami-pipeline/freebsd/amd64/base/ufs/14.3/STABLE'] } })],
      policy({ retention: { keepLaunchedWithinDays: 30 } }),
      NOW,
    );

    expect(
      ['ami-x01', 'ami-x02', 'ami-x03', 'ami-x04', 'ami-x05', 'ami-x06', 'ami-x07', 'ami-x08'].map(
        (id) => verdict(plan, id)?.reason,
      ),
    ).toEqual([
      'unmanaged-name',
      'untagged',
      'not-owned',
      'ssm-referenced',
      'deregistration-protected',
      'recently-launched',
      'not-settled',
      'aged-out',
    ]);
  });

  test('never deletes a snapshot that a remaining image uses, nor an untagged one, and uses DeleteAssociatedSnapshots only when all go', () => {
    const kept = image('ami-k01', 'FreeBSD 14.3-STABLE-amd64-20261120 base UFS');
    const sharing = image('ami-a01', 'FreeBSD 14.3-STABLE-amd64-20250101 base UFS', {
      snapshotIds: ['snap-a01', 'snap-k01'],
    });
    const untaggedSnapshot = image('ami-a02', 'FreeBSD 14.3-STABLE-amd64-20250108 base UFS');
    const region = regionOf([kept, sharing, untaggedSnapshot]);
    const snapshots = region.snapshots.map((s) => (s.snapshotId === 'snap-a02' ? { ...s, tags: {} } : s));

    const plan = planPrune([{ ...region, snapshots }], policy({ retention: { keepNewest: 1, minAgeDays: 30 } }), NOW);

    expect(verdict(plan, 'snap-k01')).toEqual({ action: 'keep', reason: 'used-by-remaining-image' });
    expect(verdict(plan, 'snap-a01')).toEqual({ action: 'delete', reason: 'image-deregistered' });
    expect(verdict(plan, 'snap-a02')).toEqual({ action: 'keep', reason: 'snapshot-untagged' });
    const entries = plan.regions[0]!.images;
    expect(entries.find((i) => i.imageId === 'ami-a01')!.deleteAllSnapshots).toBe(false);
    expect(entries.find((i) => i.imageId === 'ami-a02')!.deleteAllSnapshots).toBe(false);
  });

  test('deletes tagged orphan snapshots after a grace period and reports untagged ones made for a vanished AMI', () => {
    const region = regionOf([], {
      snapshots: [
        snapshot('snap-o1', { startTime: dateAgo(30) }),
        snapshot('snap-o2', { startTime: dateAgo(3) }),
        snapshot('snap-o3', { tags: {}, description: 'Copied for DestinationAmi ami-0abc from SourceAmi ami-0def' }),
        snapshot('snap-o4', { tags: {}, description: 'backup of my database' }),
      ],
    });

    const plan = planPrune([region], policy({ retention: { orphanSnapshotGraceDays: 14 } }), NOW);

    expect(verdict(plan, 'snap-o1')).toEqual({ action: 'delete', reason: 'orphan' });
    expect(verdict(plan, 'snap-o2')).toEqual({ action: 'keep', reason: 'orphan-grace' });
    expect(verdict(plan, 'snap-o3')).toEqual({ action: 'keep', reason: 'orphan-untagged' });
    expect(findEntry(plan, 'snap-o4')).toBeUndefined();
  });

  test('soft-delete makes images private first and deletes them once the tagged date has passed', () => {
    const [fresh, pending, due] = weekly('14.3-STABLE/amd64/base/ufs', 3, 200, 'a');
    const fleet = [
      fresh!,
      { ...pending!, tags: { ...MANAGED, [TAG.deleteAfter]: dateAgo(-3) } },
      { ...due!, tags: { ...MANAGED, [TAG.deleteAfter]: dateAgo(1) } },
      ...weekly('14.3-STABLE/amd64/base/ufs', 4, 1, 'n'),
    ];

    const plan = planPrune([regionOf(fleet)], policy({ retention: { softDeleteGraceDays: 14 } }), NOW);

    expect(verdict(plan, fresh!.imageId)).toEqual({ action: 'soft-delete', reason: 'aged-out' });
    expect(verdict(plan, pending!.imageId)).toEqual({ action: 'keep', reason: 'soft-delete-pending' });
    expect(verdict(plan, due!.imageId)).toEqual({ action: 'deregister', reason: 'soft-delete-due' });
    expect(verdict(plan, `snap-${fresh!.imageId.slice(4)}`)?.action).toBe('keep');
  });
});

describe('planPrune safety', () => {
  const backlog = () => [
    ...weekly('14.3-STABLE/amd64/base/ufs', 30, 1, 'a'),
    ...weekly('15.0-CURRENT/arm64/base/zfs', 30, 4, 'b'),
  ];

  test('the breaker refuses a region whose plan deletes more than the configured share, unless overridden', () => {
    const refused = planPrune([regionOf(backlog())], policy({ safety: { maxDeleteShare: 0.5 } }), NOW);
    const overridden = planPrune(
      [regionOf(backlog())],
      policy({ safety: { maxDeleteShare: 0.5 } }, { overrideBreaker: true }),
      NOW,
    );

    expect(refused.regions[0]!.breaker).toMatchObject({ tripped: true, managedImages: 60, plannedDeletions: 34 });
    expect(deletions(refused)).toEqual([]);
    expect(refused.regions[0]!.images.filter((i) => i.reason === 'breaker')).toHaveLength(34);
    expect(overridden.regions[0]!.breaker).toMatchObject({ tripped: false, overridden: true });
    expect(deletions(overridden)).toHaveLength(68);
  });

  test('the cap deletes the oldest first across regions and reports the rest; its boundary continues the same run', () => {
    const east = regionOf(backlog());
    const west = {
      ...regionOf(backlog().map((i) => ({ ...i, imageId: i.imageId.replace('ami-', 'ami-w') }))),
      region: 'us-west-2',
    };

    const first = planPrune([east, west], policy({ safety: { maxDeletionsPerRun: 10, maxDeleteShare: 1 } }), NOW);

    const deregistered = first.regions.flatMap((r) => r.images.filter((i) => i.action === 'deregister'));
    const deferred = first.regions.flatMap((r) => r.images.filter((i) => i.action === 'deferred'));
    expect(deregistered).toHaveLength(10);
    expect(deferred).toHaveLength(58);
    expect(first.deferred).toBe(58);
    const newestDeleted = deregistered
      .map((i) => i.ageDate!)
      .sort()
      .at(-1)!;
    expect(deferred.every((i) => i.ageDate! >= newestDeleted)).toBe(true);
    expect(first.capBoundary).toBeDefined();
    // A later batch of the same run, after 4 of the 10 went, deletes exactly the other 6.
    const gone = new Set(deregistered.slice(0, 4).map((i) => i.imageId));
    const shrink = (r: PruneInventory) => ({ ...r, images: r.images.filter((i) => !gone.has(i.imageId)) });
    const resumed = planPrune(
      [shrink(east), shrink(west)],
      { ...policy({ safety: { maxDeletionsPerRun: 10, maxDeleteShare: 1 } }), capBoundary: first.capBoundary },
      NOW,
    );
    const resumedIds = resumed.regions.flatMap((r) => r.images.filter((i) => i.action === 'deregister'));
    expect(resumedIds.map((i) => i.imageId).sort()).toEqual(
      deregistered
        .slice(4)
        .map((i) => i.imageId)
        .sort(),
    );
  });

  test('the default configuration is a dry run with a cap and a 50% breaker', () => {
    const config = defaultConfig();
    expect(config.safety).toMatchObject({ dryRun: true, maxDeleteShare: 0.5, maxDeletionsPerRun: 500 });
  });
});

describe('adopt plan and report', () => {
  test('adopts untagged parseable images whole, and the untagged snapshots of managed images', () => {
    const untagged = image('ami-u01', 'FreeBSD 14.3-STABLE-amd64-20250101 base UFS', { tags: {} });
    const halfTagged = image('ami-h01', 'FreeBSD 14.3-STABLE-amd64-20250108 base UFS');
    const region = regionOf([untagged, halfTagged, image('ami-n01', 'golden', { tags: {} })]);
    const snapshots = region.snapshots.map((s) => ({ ...s, tags: {} }));

    const plan = planAdopt([{ ...region, snapshots }], policy());

    expect(plan.regions[0]!.entries.map((e) => [e.imageId, e.action, e.reason, e.resources])).toEqual([
      ['ami-u01', 'tag', 'adopt-image-and-snapshots', ['ami-u01', 'snap-u01']],
      ['ami-h01', 'tag', 'adopt-snapshots', ['snap-h01']],
      ['ami-n01', 'skip', 'unmanaged-name', []],
    ]);
  });

  test('the report counts kept images and snapshots by reason, unmanaged images, the cap remainder and sizes', () => {
    const fleet = [...weekly('14.3-STABLE/amd64/base/ufs', 8, 1, 'a'), image('ami-x01', 'golden', { tags: {} })];
    const region = regionOf(fleet);
    const sized = { ...region, snapshots: region.snapshots.map((s) => ({ ...s, fullSizeBytes: 1_000 })) };
    const plan = planPrune(
      [sized],
      policy({ retention: { keepNewest: 2, minAgeDays: 0 }, safety: { maxDeletionsPerRun: 4, maxDeleteShare: 1 } }),
      NOW,
    );

    const report = pruneReport(plan, [], { dryRun: true, failedRegions: [{ region: 'eu-west-1', error: 'boom' }] });

    expect(report.regions.map((r) => r.region)).toEqual(['eu-west-1', 'us-east-1']);
    expect(report.regions[1]).toMatchObject({
      imagesDeregistered: 4,
      snapshotsDeleted: 4,
      gibReclaimed: 24,
      fullBytesReclaimed: 4_000,
      unmanagedFound: 1,
      remainingOverCap: 2,
      keptByReason: { 'newest-builds': 2, 'unmanaged-name': 1, 'snapshot:used-by-remaining-image': 3 },
    });
    expect(report.totals).toMatchObject({ imagesDeregistered: 4, failures: 1, remainingOverCap: 2 });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Random fleets

const SNAPSHOT_SERIES = [
  ['14.2', 'STABLE'],
  ['14.3', 'STABLE'],
  ['15.0', 'CURRENT'],
  ['16.0', 'CURRENT'],
] as const;
const VARIANTS = ['amd64 base UFS', 'arm64 small ZFS'] as const;
const PRE = ['BETA1', 'BETA2', 'RC1'] as const;

const nameArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...SNAPSHOT_SERIES), fc.constantFrom(...VARIANTS), fc.integer({ min: 0, max: 400 }))
      .map(([[version, branch], variant, age]) => {
        const [arch, rest] = [variant.split(' ')[0], variant.split(' ').slice(1).join(' ')];
        return `FreeBSD ${version}-${branch}-${arch}-${dateAgo(age).replaceAll('-', '')} ${rest}`;
      }),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('13.4', '14.3'), fc.constantFrom(...VARIANTS))
      .map(([v, variant]) => `FreeBSD ${v}-RELEASE-${variant}`),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('13.4', '14.3'), fc.constantFrom(...PRE), fc.constantFrom(...VARIANTS))
      .map(([v, pre, variant]) => `FreeBSD ${v}-${pre}-${variant}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('my golden image', 'FreeBSD 14.3-STABLE-amd64', 'FreeBSD 12.1-RELEASE-p3-amd64'),
  },
);

const imageSpecArb = fc.record({
  name: nameArb,
  owner: fc.constantFrom(ACCOUNT, ACCOUNT, ACCOUNT, ACCOUNT, '222222222222'),
  tagged: fc.constantFrom(true, true, true, false),
  state: fc.constantFrom('available', 'available', 'available', 'disabled', 'pending'),
  ssm: fc.constantFrom(false, false, false, false, true),
  protection: fc.constantFrom(undefined, undefined, undefined, 'disabled', 'enabled'),
  launchedDaysAgo: fc.option(fc.integer({ min: 0, max: 200 }), { freq: 3 }),
  deleteAfterOffset: fc.option(fc.integer({ min: -20, max: 20 }), { freq: 4 }),
  publishedDaysAgo: fc.integer({ min: 0, max: 90 }),
  extraSnapshot: fc.option(fc.integer({ min: 0, max: 29 }), { freq: 4 }),
  ownSnapshot: fc.constantFrom('tagged', 'tagged', 'tagged', 'untagged', 'missing', 'foreign'),
});

const regionArb = (region: string) =>
  fc
    .record({
      specs: fc.array(imageSpecArb, { maxLength: 24 }),
      orphans: fc.array(
        fc.record({ age: fc.integer({ min: 0, max: 60 }), tagged: fc.boolean(), forAmi: fc.boolean() }),
        { maxLength: 4 },
      ),
    })
    .map(({ specs, orphans }): PruneInventory => {
      const snapshots: InventorySnapshot[] = [];
      const images = specs.map((spec, index): InventoryImage => {
        const id = `ami-${region}-${index}`;
        const own = `snap-${region}-${index}`;
        if (spec.ownSnapshot !== 'missing') {
          snapshots.push(
            snapshot(own, {
              ownerId: spec.ownSnapshot === 'foreign' ? '222222222222' : ACCOUNT,
              tags: spec.ownSnapshot === 'untagged' ? {} : MANAGED,
            }),
          );
        }
        const tags: Record<string, string> = spec.tagged ? { ...MANAGED } : {};
        if (spec.deleteAfterOffset !== null) tags[TAG.deleteAfter] = dateAgo(-spec.deleteAfterOffset);
        tags[TAG.publishedAt] = `${dateAgo(spec.publishedDaysAgo)}T00:00:00Z`;
        return {
          imageId: id,
          name: spec.name,
          ownerId: spec.owner,
          state: spec.state,
          public: true,
          ...(spec.protection !== undefined && { deregistrationProtection: spec.protection }),
          ...(spec.launchedDaysAgo !== null && {
            lastLaunchedTime: new Date(NOW.getTime() - spec.launchedDaysAgo * DAY_MS).toISOString(),
          }),
          snapshotIds:
            spec.extraSnapshot !== null && spec.extraSnapshot < specs.length && spec.extraSnapshot !== index
              ? [own, `snap-${region}-${spec.extraSnapshot}`]
              : [own],
          tags,
        };
      });
      orphans.forEach((o, index) => {
        snapshots.push(
          snapshot(`snap-${region}-orphan-${index}`, {
            startTime: dateAgo(o.age),
            tags: o.tagged ? MANAGED : {},
            ...(o.forAmi && { description: `Copied for DestinationAmi ami-0${index}f from SourceAmi ami-0e` }),
          }),
        );
      });
      const ssmReferences = Object.fromEntries(
        specs.flatMap((spec, index) => (spec.ssm ? [[`ami-${region}-${index}`, [`/p/${index}`]]] : [])),
      );
      return { region, accountId: ACCOUNT, images, snapshots, ssmReferences };
    });

const policyArb = fc
  .record({
    keepNewest: fc.integer({ min: 1, max: 5 }),
    minAgeDays: fc.integer({ min: 0, max: 120 }),
    prereleaseGraceDays: fc.integer({ min: 0, max: 60 }),
    eol13: fc.boolean(),
    retiredLine: fc.constantFrom(undefined, '14-STABLE', '15-CURRENT', '16-CURRENT'),
    retiredOn: fc.integer({ min: -30, max: 400 }),
    orphanSnapshotGraceDays: fc.integer({ min: 0, max: 30 }),
    keepLaunchedWithinDays: fc.integer({ min: 0, max: 60 }),
    softDeleteGraceDays: fc.constantFrom(0, 0, 7),
    maxDeletionsPerRun: fc.integer({ min: 0, max: 80 }),
    maxDeleteShare: fc.double({ min: 0, max: 1, noNaN: true }),
    overrideBreaker: fc.boolean(),
  })
  .map((p) => ({
    keepNewest: p.keepNewest,
    minAgeDays: p.minAgeDays,
    prereleaseGraceDays: p.prereleaseGraceDays,
    releaseEndOfLife: (p.eol13 ? { '13.4': '2026-06-30' } : {}) as Record<string, string>,
    lineEndOfLife: (p.retiredLine ? { [p.retiredLine]: dateAgo(p.retiredOn) } : {}) as Record<string, string>,
    orphanSnapshotGraceDays: p.orphanSnapshotGraceDays,
    keepLaunchedWithinDays: p.keepLaunchedWithinDays,
    softDeleteGraceDays: p.softDeleteGraceDays,
    maxDeletionsPerRun: p.maxDeletionsPerRun,
    maxDeleteShare: p.maxDeleteShare,
    overrideBreaker: p.overrideBreaker,
  }));

// Arbitraries yield plain settings, so that a shrunk counterexample prints without the naming profile's code.
const toPolicy = (settings: Partial<PrunePolicy>): PrunePolicy => ({ ...policy(), ...settings });

const fleetArb = fc.tuple(regionArb('use1'), regionArb('euw1')).map(([a, b]) => [a, { ...b, region: 'eu-west-1' }]);

/** What executing a plan does to an inventory: deregistered images and deleted snapshots vanish, soft-deletes are tagged. */
function applyPlan(inventory: readonly PruneInventory[], plan: PrunePlan, now: Date, policyUsed: PrunePolicy) {
  return inventory.map((region) => {
    const regionPlan = plan.regions.find((r) => r.region === region.region)!;
    const gone = new Set(regionPlan.images.filter((i) => i.action === 'deregister').map((i) => i.imageId));
    const soft = new Set(regionPlan.images.filter((i) => i.action === 'soft-delete').map((i) => i.imageId));
    const deleted = new Set(regionPlan.snapshots.filter((s) => s.action === 'delete').map((s) => s.snapshotId));
    const due = new Date(now.getTime() + policyUsed.softDeleteGraceDays * DAY_MS).toISOString().slice(0, 10);
    return {
      ...region,
      images: region.images
        .filter((i) => !gone.has(i.imageId))
        .map((i) => (soft.has(i.imageId) ? { ...i, public: false, tags: { ...i.tags, [TAG.deleteAfter]: due } } : i)),
      snapshots: region.snapshots.filter((s) => !deleted.has(s.snapshotId)),
    };
  });
}

/** Reasons an independent reading of the image says it must be kept, whatever the retention rules decide. */
const parsedNames = new Map<string, ReturnType<typeof freebsdProfile.parse>>();
function parse(name: string) {
  const known = parsedNames.get(name);
  if (known) return known;
  const parsed = freebsdProfile.parse(name);
  parsedNames.set(name, parsed);
  return parsed;
}

/** Whether the line of a line key is past its end-of-life date (a date strictly before today's). */
function lineRetired(lineKey: string, p: PrunePolicy): boolean {
  const eol = p.lineEndOfLife[lineKey.split('/')[0]!];
  return eol !== undefined && eol < NOW.toISOString().slice(0, 10);
}

function mustKeep(img: InventoryImage, region: PruneInventory, p: PrunePolicy): string | undefined {
  const parsed = parse(img.name);
  if (!parsed.managed) return 'unmanaged';
  if (img.ownerId !== ACCOUNT) return 'foreign';
  if (img.tags['ami-pipeline:managed-by'] !== 'ami-pipeline') return 'untagged';
  if (region.ssmReferences[img.imageId]) return 'ssm';
  if (img.deregistrationProtection === 'enabled') return 'protected';
  if (img.state === 'pending') return 'pending';
  if (
    p.keepLaunchedWithinDays > 0 &&
    img.lastLaunchedTime &&
    NOW.getTime() - Date.parse(img.lastLaunchedTime) < p.keepLaunchedWithinDays * DAY_MS
  )
    return 'launched';
  if (parsed.kind === 'release' && !(parsed.version === '13.4' && p.releaseEndOfLife['13.4'])) return 'release';
  if (parsed.kind === 'snapshot' && NOW.getTime() - Date.parse(`${parsed.buildDate}T00:00:00Z`) < p.minAgeDays * DAY_MS)
    return 'young';
  if (parsed.kind === 'snapshot') {
    // the newest N builds of a line whose major version is the newest of its variant
    const variant = parsed.lineKey.slice(parsed.lineKey.indexOf('/') + 1);
    const siblings = region.images.map((i) => parse(i.name)).filter((q) => q.managed && q.kind === 'snapshot');
    const newerMajor = siblings.some(
      (q) =>
        q.managed &&
        parsed.branch === 'CURRENT' &&
        q.branch === 'CURRENT' &&
        q.lineKey.endsWith(variant) &&
        Number(q.version) > Number(parsed.version),
    );
    const sameLine = region.images.filter((i) => {
      const q = parse(i.name);
      return q.managed && q.lineKey === parsed.lineKey;
    });
    const newer = sameLine.filter((i) => {
      const q = parse(i.name);
      return (
        q.managed &&
        (q.version > parsed.version ||
          (q.version === parsed.version &&
            (q.buildDate! > parsed.buildDate! ||
              (q.buildDate === parsed.buildDate &&
                (i.name > img.name || (i.name === img.name && i.imageId < img.imageId))))))
      );
    }).length;
    // A line past its end-of-life date (strictly before today) keeps nothing for being newest.
    if (!newerMajor && !lineRetired(parsed.lineKey, p) && newer < p.keepNewest) return 'newest';
  }
  return undefined;
}

describe('planPrune properties over random fleets', () => {
  // 500 random fleets in every test run; PROPERTY_RUNS=10000 (or more) for a deeper search.
  const RUNS = Number(process.env.PROPERTY_RUNS ?? 500);

  test(`nothing kept by a rule is planned, snapshots of remaining images stay, caps and breakers hold (${RUNS} fleets)`, () => {
    fc.assert(
      fc.property(fleetArb, policyArb, (fleet, settings) => {
        const p = toPolicy(settings);
        const plan = planPrune(fleet, p, NOW);
        // Violations are collected as text, so a failure names the rule and the entry; expect() per item is slow.
        const violations: string[] = [];
        let units = 0;
        for (const region of fleet) {
          const regionPlan = plan.regions.find((r) => r.region === region.region)!;
          if (regionPlan.images.length !== region.images.length) violations.push(`${region.region}: images missing`);
          const actions = new Map(regionPlan.images.map((i) => [i.imageId, i.action]));
          for (const entry of [...regionPlan.images, ...regionPlan.snapshots])
            if (!entry.reason || !entry.detail) violations.push(`entry without reason: ${JSON.stringify(entry)}`);
          for (const entry of regionPlan.images) {
            const retired = entry.lineKey !== undefined && lineRetired(entry.lineKey, p);
            if (entry.reason === 'newest-builds' && retired)
              violations.push(`${entry.imageId} kept newest, line retired`);
            if (entry.reason === 'line-end-of-life' && !retired) violations.push(`${entry.imageId} line not retired`);
          }
          for (const img of region.images) {
            const rule = mustKeep(img, region, p);
            const action = actions.get(img.imageId)!;
            if (rule && action !== 'keep' && action !== 'deferred')
              violations.push(`${img.imageId} (${rule}) ${action}`);
          }
          const remaining = new Set(
            region.images.filter((i) => actions.get(i.imageId) !== 'deregister').map((i) => i.imageId),
          );
          const inventory = new Map(region.snapshots.map((s) => [s.snapshotId, s]));
          for (const s of regionPlan.snapshots.filter((e) => e.action === 'delete')) {
            const usedByRemaining = region.images.filter(
              (i) => i.snapshotIds.includes(s.snapshotId) && remaining.has(i.imageId),
            );
            if (usedByRemaining.length > 0) violations.push(`${s.snapshotId} used by ${usedByRemaining[0]!.imageId}`);
            const stored = inventory.get(s.snapshotId)!;
            if (stored.tags['ami-pipeline:managed-by'] !== 'ami-pipeline') violations.push(`${s.snapshotId} untagged`);
            if (stored.ownerId !== ACCOUNT) violations.push(`${s.snapshotId} not ours`);
          }
          const deleting = regionPlan.images.filter((i) => i.action === 'deregister' || i.action === 'soft-delete');
          units +=
            deleting.length + regionPlan.snapshots.filter((s) => s.action === 'delete' && s.usedBy.length === 0).length;
          if (!p.overrideBreaker && deleting.length / regionPlan.breaker.managedImages > p.maxDeleteShare)
            violations.push(`${region.region}: breaker let ${deleting.length} deletions through`);
        }
        if (units > p.maxDeletionsPerRun) violations.push(`${units} deletions over the cap`);
        expect(violations).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  test(`planning again after executing a plan yields no deletions (${RUNS} fleets)`, () => {
    fc.assert(
      fc.property(fleetArb, policyArb, (fleet, settings) => {
        const unlimited = { ...toPolicy(settings), maxDeletionsPerRun: 1_000_000 };
        const first = planPrune(fleet, unlimited, NOW);
        const second = planPrune(applyPlan(fleet, first, NOW, unlimited), unlimited, NOW);
        expect(deletions(second)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  test('with a cap, repeated runs converge to the same survivors as one uncapped run', () => {
    fc.assert(
      fc.property(fleetArb, policyArb, fc.integer({ min: 1, max: 7 }), (fleet, settings, cap) => {
        const open = { ...toPolicy(settings), overrideBreaker: true, maxDeletionsPerRun: 1_000_000 };
        const oneRun = applyPlan(fleet, planPrune(fleet, open, NOW), NOW, open);
        let state: PruneInventory[] = fleet;
        for (let run = 0; run < 100; run++) {
          const plan = planPrune(state, { ...open, maxDeletionsPerRun: cap }, NOW);
          if (deletions(plan).length === 0) break;
          state = applyPlan(state, plan, NOW, open);
        }
        const ids = (inv: readonly PruneInventory[]) =>
          inv.flatMap((r) => [...r.images.map((i) => i.imageId), ...r.snapshots.map((s) => s.snapshotId)]).sort();
        expect(ids(state)).toEqual(ids(oneRun));
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });
});

describe('adopt plan', () => {
  test('skips foreign, unsettled and already managed images, adopts disabled ones, and says why for each', () => {
    // Prepare
    const name = (day: string) => `FreeBSD 14.3-STABLE-amd64-202501${day} base UFS`;
    const fleet = [
      image('ami-f01', name('01'), { ownerId: '222222222222', tags: {} }),
      image('ami-p01', name('02'), { state: 'pending', tags: {} }),
      image('ami-d01', name('03'), { state: 'disabled', tags: {} }),
      image('ami-m01', name('04')),
      image('ami-h01', name('05'), { snapshotIds: ['snap-h01', 'snap-h02', 'snap-elsewhere'] }),
      image('ami-n01', 'golden', { tags: {} }),
    ];
    const region = regionOf(fleet);
    const snapshots = [
      ...region.snapshots.filter((s) => s.snapshotId !== 'snap-elsewhere' && s.snapshotId !== 'snap-h01'),
      snapshot('snap-h01', { tags: {} }),
    ];

    // Act
    const plan = planAdopt([{ ...region, snapshots }], policy());

    // Assess
    expect(plan.regions[0]!.entries.map((e) => [e.imageId, e.action, e.reason, e.detail, e.resources])).toEqual([
      ['ami-f01', 'skip', 'not-owned', 'owned by 222222222222', []],
      ['ami-p01', 'skip', 'not-settled', 'image state is pending', []],
      [
        'ami-d01',
        'tag',
        'adopt-image-and-snapshots',
        '14.3-STABLE/amd64/base/ufs build without the managed tag',
        ['ami-d01'],
      ],
      ['ami-m01', 'skip', 'already-managed', 'carries ami-pipeline:managed-by=ami-pipeline', []],
      ['ami-h01', 'tag', 'adopt-snapshots', 'image is managed but 1 of its snapshots are not', ['snap-h01']],
      ['ami-n01', 'skip', 'unmanaged-name', expect.any(String), []],
    ]);
    expect(plan.regions[0]!.region).toBe('us-east-1');
  });
});

describe('prune report', () => {
  const failure = { id: 'ami-a03', region: 'us-east-1', error: 'UnauthorizedOperation', code: 'UnauthorizedOperation' };

  test('after execution counts what each region did, a region without an execution as nothing, and sums them', () => {
    // Prepare
    const east = regionOf(weekly('14.3-STABLE/amd64/base/ufs', 8, 1, 'a'));
    const west = { ...regionOf(weekly('14.3-STABLE/amd64/base/ufs', 8, 1, 'w')), region: 'us-west-2' };
    const plan = planPrune([east, west], policy({ retention: { keepNewest: 4, minAgeDays: 0 } }), NOW);
    const execution = {
      region: 'us-east-1',
      deregistered: ['ami-a04', 'ami-a05'],
      softDeleted: ['ami-a06'],
      snapshotsDeleted: [
        { snapshotId: 'snap-a04', volumeSizeGiB: 6, fullSizeBytes: 1_000 },
        { snapshotId: 'snap-a05', volumeSizeGiB: 8 },
      ],
      snapshotsInUse: ['snap-a07'],
      failed: [failure],
      complete: false,
    };

    // Act
    const report = pruneReport(plan, [execution], {
      dryRun: false,
      failedRegions: [{ region: 'eu-west-1', error: 'boom' }],
    });

    // Assess
    expect(report.dryRun).toBe(false);
    expect(report.now).toBe(NOW.toISOString());
    expect(report.regions[0]).toEqual({
      region: 'eu-west-1',
      imagesDeregistered: 0,
      imagesSoftDeleted: 0,
      snapshotsDeleted: 0,
      gibReclaimed: 0,
      fullBytesReclaimed: 0,
      keptByReason: {},
      unmanagedFound: 0,
      remainingOverCap: 0,
      breaker: { managedImages: 0, plannedDeletions: 0, share: 0, limit: 0, tripped: false, overridden: false },
      snapshotsInUse: [],
      failures: [{ id: 'eu-west-1', region: 'eu-west-1', error: 'boom' }],
      error: 'boom',
    });
    expect(report.regions[1]).toMatchObject({
      region: 'us-east-1',
      imagesDeregistered: 2,
      imagesSoftDeleted: 1,
      snapshotsDeleted: 2,
      gibReclaimed: 14,
      fullBytesReclaimed: 1_000,
      snapshotsInUse: ['snap-a07'],
      failures: [failure],
    });
    expect(report.regions[2]).toMatchObject({
      region: 'us-west-2',
      imagesDeregistered: 0,
      imagesSoftDeleted: 0,
      snapshotsDeleted: 0,
      gibReclaimed: 0,
      fullBytesReclaimed: 0,
      snapshotsInUse: [],
      failures: [],
    });
    expect(report.totals).toEqual({
      imagesDeregistered: 2,
      snapshotsDeleted: 2,
      gibReclaimed: 14,
      remainingOverCap: 0,
      failures: 2,
    });
  });

  test('a dry run counts planned soft deletions, untagged images as unmanaged, and deferred orphans but not deferred images’ snapshots', () => {
    // Prepare
    const fleet = [
      ...weekly('14.3-STABLE/amd64/base/ufs', 4, 200, 'a'),
      image('ami-u01', 'FreeBSD 14.3-STABLE-amd64-20250101 base UFS', { tags: {} }),
    ];
    const region = regionOf(fleet);
    const snapshots = [
      ...region.snapshots,
      snapshot('snap-o1', { startTime: `${dateAgo(100)}T00:00:00Z` }),
      snapshot('snap-o2', { startTime: `${dateAgo(90)}T00:00:00Z` }),
    ];
    const plan = planPrune(
      [{ ...region, snapshots }],
      policy({
        retention: { keepNewest: 1, minAgeDays: 0, softDeleteGraceDays: 7 },
        safety: { maxDeletionsPerRun: 3, maxDeleteShare: 1 },
      }),
      NOW,
    );

    // Act
    const report = pruneReport(plan, [], { dryRun: true });

    // Assess: due, oldest first: a003, a002, a001 (soft deletions), then the two orphans, over the cap of 3.
    expect(report.regions[0]).toMatchObject({
      imagesDeregistered: 0,
      imagesSoftDeleted: 3,
      unmanagedFound: 1,
      remainingOverCap: 2,
    });
  });

  test('a retired line’s figures leave out images of no line and count soft deletions as deletions', () => {
    // Prepare
    const fleet = [...weekly('13.5-STABLE/amd64/base/ufs', 2, 120, 'r'), image('ami-x01', 'golden', { tags: {} })];
    const plan = planPrune(
      [regionOf(fleet)],
      policy({ retention: { softDeleteGraceDays: 7, lineEndOfLife: { '13-STABLE': '2026-08-01' } } }),
      NOW,
    );

    // Act
    const report = pruneReport(plan, [], { dryRun: true });

    // Assess
    expect(report.retiredLines).toEqual([
      {
        line: '13-STABLE',
        endOfLife: '2026-08-01',
        images: 2,
        snapshots: 2,
        gib: 12,
        imagesDeleted: 2,
        keptByReason: {},
      },
    ]);
  });
});

describe('what each entry and figure says', () => {
  test('a policy carries a cap boundary only when the operator gives one', () => {
    expect('capBoundary' in prunePolicy(defaultConfig())).toBe(false);
    expect(prunePolicy(defaultConfig(), { capBoundary: '2026-01-01|us-east-1|ami-1' }).capBoundary).toBe(
      '2026-01-01|us-east-1|ami-1',
    );
  });

  test('a soft deletion names the day its image may go, as a date', () => {
    const [aged] = weekly('14.3-STABLE/amd64/base/ufs', 1, 200, 'a');
    const fleet = [aged!, ...weekly('14.3-STABLE/amd64/base/ufs', 4, 1, 'n')];

    const plan = planPrune([regionOf(fleet)], policy({ retention: { softDeleteGraceDays: 14 } }), NOW);

    expect(detail(plan, aged!.imageId)).toMatch(/; made private, deletion due 2026-12-10$/);
  });

  test('an image over the cap keeps its own reason beside the cap’s, and its snapshots name it', () => {
    const fleet = weekly('14.3-STABLE/amd64/base/ufs', 6, 1, 'a');

    const plan = planPrune(
      [regionOf(fleet)],
      policy({ retention: { keepNewest: 2, minAgeDays: 0 }, safety: { maxDeletionsPerRun: 1, maxDeleteShare: 1 } }),
      NOW,
    );

    // a005 is the oldest and goes; a002..a004 wait for a later run.
    expect(verdict(plan, 'ami-a004')).toEqual({ action: 'deferred', reason: 'over-cap' });
    expect(detail(plan, 'ami-a004')).toBe(
      'deletion cap for this run reached (safety.maxDeletionsPerRun); a later run deletes it ' +
        '(built 29 days ago and older than the newest 2 builds of 14-STABLE/amd64/base/ufs)',
    );
    expect(detail(plan, 'snap-a004')).toBe('its image ami-a004 is deferred');
    expect(detail(plan, 'snap-a005')).toBe('only ami-a005 used it');
    expect(detail(plan, 'snap-a000')).toBe('used by ami-a000');
  });

  test('a snapshot shared by several images names each of them, apart', () => {
    const shares = { a000: 'snap-k', a001: 'snap-k', a002: 'snap-d', a003: 'snap-d', a004: 'snap-g', a005: 'snap-g' };
    const fleet = weekly('14.3-STABLE/amd64/base/ufs', 6, 1, 'a').map((i) => ({
      ...i,
      snapshotIds: [shares[i.imageId.slice(4) as keyof typeof shares]],
    }));
    const region = regionOf(fleet, { snapshots: ['snap-k', 'snap-d', 'snap-g'].map((id) => snapshot(id)) });

    const plan = planPrune(
      [region],
      policy({ retention: { keepNewest: 2, minAgeDays: 0 }, safety: { maxDeletionsPerRun: 2, maxDeleteShare: 1 } }),
      NOW,
    );

    expect(detail(plan, 'snap-k')).toBe('used by ami-a000, ami-a001');
    expect(detail(plan, 'snap-d')).toBe('its images ami-a002, ami-a003 are deferred');
    expect(detail(plan, 'snap-g')).toBe('only ami-a004, ami-a005 used it');
  });

  test('kept figures count only what is kept, and the cap remainder only orphans that wait for it', () => {
    const fleet = weekly('14.3-STABLE/amd64/base/ufs', 4, 1, 'a');
    const region = regionOf(fleet);
    const snapshots = [
      ...region.snapshots,
      snapshot('snap-o1', { startTime: `${dateAgo(100)}T00:00:00Z` }),
      snapshot('snap-o2', { startTime: `${dateAgo(3)}T00:00:00Z` }),
    ];
    const plan = planPrune(
      [{ ...region, snapshots }],
      policy({ retention: { keepNewest: 2, minAgeDays: 0, orphanSnapshotGraceDays: 14 } }),
      NOW,
    );

    const report = pruneReport(plan, [], { dryRun: true });

    expect(verdict(plan, 'snap-o1')).toEqual({ action: 'delete', reason: 'orphan' });
    expect(verdict(plan, 'snap-o2')).toEqual({ action: 'keep', reason: 'orphan-grace' });
    expect(report.regions[0]).toMatchObject({ imagesDeregistered: 2, snapshotsDeleted: 3, remainingOverCap: 0 });
    expect(report.regions[0]!.keptByReason).toEqual({
      'newest-builds': 2,
      'snapshot:used-by-remaining-image': 2,
      'snapshot:orphan-grace': 1,
    });
  });
});
