import { parseConfig } from '../../lambdas/core/config';
import {
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

// Each rule is checked on both sides of its boundary, so that moving the boundary by one day fails a test.
const ACCOUNT = '111111111111';
const MANAGED = { 'ami-pipeline:managed-by': 'ami-pipeline' };
const NOW = new Date('2026-11-26T12:00:00Z');
const TODAY = '2026-11-26';

const at = (daysAgo: number, ms = 0) => new Date(NOW.getTime() - daysAgo * DAY_MS + ms).toISOString();
const dateAgo = (days: number) => at(days).slice(0, 10);

function image(id: string, name: string, extra: Partial<InventoryImage> = {}): InventoryImage {
  return {
    imageId: id,
    name,
    ownerId: ACCOUNT,
    state: 'available',
    public: true,
    snapshotIds: [`snap-${id.slice(4)}`],
    tags: MANAGED,
    ...extra,
  };
}

/** A snapshot build of 14.3-STABLE amd64 base UFS built `days` ago. */
const build = (id: string, days: number, extra: Partial<InventoryImage> = {}) =>
  image(id, `FreeBSD 14.3-STABLE-amd64-${dateAgo(days).replaceAll('-', '')} base UFS`, extra);

function snapshot(id: string, extra: Partial<InventorySnapshot> = {}): InventorySnapshot {
  return { snapshotId: id, ownerId: ACCOUNT, volumeSizeGiB: 6, startTime: at(400), tags: MANAGED, ...extra };
}

function regionOf(images: InventoryImage[], extra: Partial<PruneInventory> = {}): PruneInventory {
  const snapshots = images.flatMap((i) => i.snapshotIds.map((s) => snapshot(s)));
  return { region: 'us-east-1', accountId: ACCOUNT, images, snapshots, ssmReferences: {}, ...extra };
}

const policy = (overrides: Record<string, unknown> = {}): PrunePolicy =>
  prunePolicy(parseConfig({ safety: { maxDeleteShare: 1 }, ...overrides }));

function entry(plan: PrunePlan, id: string) {
  for (const region of plan.regions) {
    const found = region.images.find((i) => i.imageId === id) ?? region.snapshots.find((s) => s.snapshotId === id);
    if (found) return found;
  }
  throw new Error(`${id} is not in the plan`);
}

const verdict = (plan: PrunePlan, id: string) => {
  const { action, reason } = entry(plan, id);
  return { action, reason };
};

describe('retention boundaries', () => {
  test('a release is kept on its end-of-life date and deregistered from the day after', () => {
    // Prepare
    const fleet = [
      image('ami-r134', 'FreeBSD 13.4-RELEASE-amd64 base UFS'),
      image('ami-c134', 'FreeBSD 13.4-RC3-amd64 base UFS'),
      image('ami-r135', 'FreeBSD 13.5-RELEASE-amd64 base UFS'),
      image('ami-r142', 'FreeBSD 14.2-RELEASE-amd64 base UFS'),
    ];
    const eol = { '13.4': dateAgo(1), '13.5': TODAY, '14.2': dateAgo(-1) };

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { releaseEndOfLife: eol } }), NOW);

    // Assess
    expect(verdict(plan, 'ami-r134')).toEqual({ action: 'deregister', reason: 'release-end-of-life' });
    expect(entry(plan, 'ami-r134')).toMatchObject({
      ageDate: dateAgo(1),
      detail: `13.4 reached its end of life on ${dateAgo(1)}`,
    });
    expect(verdict(plan, 'ami-c134')).toEqual({ action: 'deregister', reason: 'release-end-of-life' });
    expect(verdict(plan, 'ami-r135')).toEqual({ action: 'keep', reason: 'release' });
    expect(verdict(plan, 'ami-r142')).toEqual({ action: 'keep', reason: 'release' });
  });

  test('a pre-release goes exactly the grace days after its release was published here, not a day earlier', () => {
    // Prepare
    const release = (id: string, version: string, publishedDaysAgo: number) =>
      image(id, `FreeBSD ${version}-RELEASE-amd64 base UFS`, {
        creationDate: at(400),
        tags: { ...MANAGED, [TAG.publishedAt]: at(publishedDaysAgo) },
      });
    const fleet = [
      release('ami-r143', '14.3', 30),
      image('ami-c143', 'FreeBSD 14.3-RC1-amd64 base UFS'),
      release('ami-r144', '14.4', 29),
      image('ami-c144', 'FreeBSD 14.4-RC1-amd64 base UFS'),
    ];

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { prereleaseGraceDays: 30 } }), NOW);

    // Assess
    expect(verdict(plan, 'ami-c143')).toEqual({ action: 'deregister', reason: 'prerelease-after-release' });
    expect(entry(plan, 'ami-c143')).toMatchObject({ ageDate: dateAgo(30) });
    expect(verdict(plan, 'ami-c144')).toEqual({ action: 'keep', reason: 'prerelease-grace' });
  });

  test('of two copies of a release the earlier publication starts the grace, whichever is listed first', () => {
    // Prepare
    const fleet = [
      image('ami-late', 'FreeBSD 14.3-RELEASE-amd64 base UFS', { creationDate: at(2) }),
      image('ami-early', 'FreeBSD 14.3-RELEASE-amd64 base UFS', { creationDate: at(40) }),
      image('ami-c143', 'FreeBSD 14.3-RC1-amd64 base UFS'),
    ];

    // Act
    const forward = planPrune([regionOf(fleet)], policy({ retention: { prereleaseGraceDays: 30 } }), NOW);
    const backward = planPrune(
      [regionOf([...fleet].reverse())],
      policy({ retention: { prereleaseGraceDays: 30 } }),
      NOW,
    );

    // Assess
    expect(verdict(forward, 'ami-c143').reason).toBe('prerelease-after-release');
    expect(verdict(backward, 'ami-c143').reason).toBe('prerelease-after-release');
  });

  test('a build exactly the minimum age old ages out; one a day younger is kept', () => {
    // Prepare
    const fleet = [build('ami-n1', 1), build('ami-old', 90), build('ami-young', 89)];

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { keepNewest: 1, minAgeDays: 90 } }), NOW);

    // Assess
    expect(verdict(plan, 'ami-old')).toEqual({ action: 'deregister', reason: 'aged-out' });
    expect(verdict(plan, 'ami-young')).toEqual({ action: 'keep', reason: 'min-age' });
    expect(verdict(plan, 'ami-n1')).toEqual({ action: 'keep', reason: 'newest-builds' });
  });

  test('an image launched exactly the protection days ago is no longer protected; a moment later it is', () => {
    // Prepare
    const fleet = [
      build('ami-n1', 1),
      build('ami-out', 300, { lastLaunchedTime: at(30) }),
      build('ami-in', 301, { lastLaunchedTime: at(30, 1) }),
    ];

    // Act
    const plan = planPrune(
      [regionOf(fleet)],
      policy({ retention: { keepNewest: 1, keepLaunchedWithinDays: 30 } }),
      NOW,
    );

    // Assess
    expect(verdict(plan, 'ami-out')).toEqual({ action: 'deregister', reason: 'aged-out' });
    expect(verdict(plan, 'ami-in')).toEqual({ action: 'keep', reason: 'recently-launched' });
  });

  test('deregistration protection that is disabled protects nothing', () => {
    // Prepare
    const fleet = [build('ami-n1', 1), build('ami-off', 300, { deregistrationProtection: 'disabled' })];

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { keepNewest: 1 } }), NOW);

    // Assess
    expect(verdict(plan, 'ami-off')).toEqual({ action: 'deregister', reason: 'aged-out' });
  });

  test('a disabled image is settled and may go; a failed one waits', () => {
    // Prepare
    const fleet = [
      build('ami-n1', 1),
      build('ami-disabled', 300, { state: 'disabled' }),
      build('ami-failed', 301, { state: 'failed' }),
    ];

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { keepNewest: 1 } }), NOW);

    // Assess
    expect(verdict(plan, 'ami-disabled')).toEqual({ action: 'deregister', reason: 'aged-out' });
    expect(verdict(plan, 'ami-failed')).toEqual({ action: 'keep', reason: 'not-settled' });
  });

  test('a soft-deleted image is deregistered on its due date, not before', () => {
    // Prepare
    const fleet = [
      build('ami-n1', 1),
      build('ami-due', 300, { tags: { ...MANAGED, [TAG.deleteAfter]: TODAY } }),
      build('ami-tomorrow', 301, { tags: { ...MANAGED, [TAG.deleteAfter]: dateAgo(-1) } }),
      build('ami-fresh', 302),
    ];

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { keepNewest: 1, softDeleteGraceDays: 7 } }), NOW);

    // Assess
    expect(verdict(plan, 'ami-due')).toEqual({ action: 'deregister', reason: 'soft-delete-due' });
    expect(verdict(plan, 'ami-tomorrow')).toEqual({ action: 'keep', reason: 'soft-delete-pending' });
    expect(verdict(plan, 'ami-fresh')).toEqual({ action: 'soft-delete', reason: 'aged-out' });
    expect(entry(plan, 'ami-fresh').detail).toContain(`deletion due ${dateAgo(-7)}`);
  });
});

describe('orphan snapshots', () => {
  test('a tagged orphan goes exactly the grace days after it was started, not a moment earlier', () => {
    // Prepare
    const region = regionOf([], {
      snapshots: [snapshot('snap-due', { startTime: at(14) }), snapshot('snap-early', { startTime: at(14, 1) })],
    });

    // Act
    const plan = planPrune([region], policy({ retention: { orphanSnapshotGraceDays: 14 } }), NOW);

    // Assess
    expect(verdict(plan, 'snap-due')).toEqual({ action: 'delete', reason: 'orphan' });
    expect(verdict(plan, 'snap-early')).toEqual({ action: 'keep', reason: 'orphan-grace' });
  });

  test('an orphan without a start time is taken as started now and waits its grace', () => {
    // Prepare
    const region = regionOf([], { snapshots: [snapshot('snap-new', { startTime: undefined })] });

    // Act
    const plan = planPrune([region], policy({ retention: { orphanSnapshotGraceDays: 1 } }), NOW);

    // Assess
    expect(verdict(plan, 'snap-new')).toEqual({ action: 'keep', reason: 'orphan-grace' });
  });

  test('another account’s tagged orphan is never deleted', () => {
    // Prepare
    const region = regionOf([], { snapshots: [snapshot('snap-foreign', { ownerId: '222222222222' })] });

    // Act
    const plan = planPrune([region], policy(), NOW);

    // Assess
    expect(verdict(plan, 'snap-foreign')).toEqual({ action: 'keep', reason: 'snapshot-not-owned' });
  });

  test.each([
    ['a copy', 'Copied for DestinationAmi ami-0abc from SourceAmi ami-0def for SourceSnapshot snap-1'],
    ['CreateImage', 'Created by CreateImage(i-0123) for ami-0abc'],
    ['RegisterImage', 'snapshot for AMI ami-0abc'],
  ])('an untagged orphan EC2 made for %s is reported with its image, never deleted', (_maker, description) => {
    // Prepare
    const region = regionOf([], { snapshots: [snapshot('snap-ami', { tags: {}, description })] });

    // Act
    const plan = planPrune([region], policy(), NOW);

    // Assess
    expect(entry(plan, 'snap-ami')).toMatchObject({
      action: 'keep',
      reason: 'orphan-untagged',
      detail: 'made for ami-0abc, which is gone, but not tagged as managed',
    });
  });
});

describe('the breaker', () => {
  // Two managed images, one due for deletion: a share of 0.5, above a limit of 0.4.
  const managed = () => [build('ami-n1', 1), build('ami-old', 300)];

  test.each([
    ['unmanaged names', (i: number) => image(`ami-u${i}`, `golden image ${i}`)],
    ['images of other accounts', (i: number) => build(`ami-f${i}`, 400 + i, { ownerId: '222222222222' })],
    ['untagged images', (i: number) => build(`ami-t${i}`, 400 + i, { tags: {} })],
  ])('counts only managed images in its denominator, not %s', (_kind, other) => {
    // Prepare
    const fleet = [...managed(), ...Array.from({ length: 8 }, (_, i) => other(i))];

    // Act
    const plan = planPrune(
      [regionOf(fleet)],
      policy({ retention: { keepNewest: 1 }, safety: { maxDeleteShare: 0.4 } }),
      NOW,
    );

    // Assess
    expect(plan.regions[0]!.breaker).toMatchObject({
      managedImages: 2,
      plannedDeletions: 1,
      share: 0.5,
      tripped: true,
    });
    expect(verdict(plan, 'ami-old')).toEqual({ action: 'keep', reason: 'breaker' });
  });

  test('a share exactly at the limit is allowed', () => {
    // Act
    const plan = planPrune(
      [regionOf(managed())],
      policy({ retention: { keepNewest: 1 }, safety: { maxDeleteShare: 0.5 } }),
      NOW,
    );

    // Assess
    expect(plan.regions[0]!.breaker).toMatchObject({ share: 0.5, tripped: false, overridden: false });
    expect(verdict(plan, 'ami-old')).toEqual({ action: 'deregister', reason: 'aged-out' });
  });

  test('counts soft deletions as deletions and refuses them too, with the share in the reason', () => {
    // Act
    const plan = planPrune(
      [regionOf(managed())],
      policy({ retention: { keepNewest: 1, softDeleteGraceDays: 7 }, safety: { maxDeleteShare: 0.4 } }),
      NOW,
    );

    // Assess
    expect(plan.regions[0]!.breaker).toMatchObject({ plannedDeletions: 1, tripped: true });
    expect(entry(plan, 'ami-old')).toMatchObject({
      action: 'keep',
      reason: 'breaker',
      detail: expect.stringMatching(
        /^region would delete 50% of its 2 managed images, above safety\.maxDeleteShare 40% \(/,
      ),
    });
  });

  test('a tripped region deletes no orphan snapshot either', () => {
    // Prepare
    const region = regionOf(managed());
    const withOrphan = { ...region, snapshots: [...region.snapshots, snapshot('snap-orphan', { startTime: at(90) })] };

    // Act
    const plan = planPrune(
      [withOrphan],
      policy({ retention: { keepNewest: 1 }, safety: { maxDeleteShare: 0.4 } }),
      NOW,
    );

    // Assess
    expect(verdict(plan, 'snap-orphan')).toEqual({ action: 'keep', reason: 'breaker' });
    expect(verdict(plan, `snap-old`)).toEqual({ action: 'keep', reason: 'used-by-remaining-image' });
  });

  test('a region without managed images has a share of 0 and never trips', () => {
    // Act
    const plan = planPrune([regionOf([image('ami-u1', 'golden')])], policy({ safety: { maxDeleteShare: 0 } }), NOW);

    // Assess
    expect(plan.regions[0]!.breaker).toMatchObject({ managedImages: 0, share: 0, tripped: false });
  });
});

describe('snapshots of deregistered images', () => {
  test('DeleteAssociatedSnapshots is planned only for an image all of whose snapshots go, never for one without any', () => {
    // Prepare
    const fleet = [
      build('ami-n1', 1),
      build('ami-all', 300, { snapshotIds: ['snap-a1', 'snap-a2'] }),
      build('ami-none', 301, { snapshotIds: [] }),
    ];

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { keepNewest: 1 } }), NOW);

    // Assess
    expect(entry(plan, 'ami-all')).toMatchObject({ action: 'deregister', deleteAllSnapshots: true });
    expect(entry(plan, 'ami-none')).toMatchObject({ action: 'deregister', deleteAllSnapshots: false });
    expect(verdict(plan, 'snap-a2')).toEqual({ action: 'delete', reason: 'image-deregistered' });
  });

  test('a snapshot of another account is kept even when every image using it goes', () => {
    // Prepare
    const region = regionOf([build('ami-n1', 1), build('ami-old', 300)]);
    const snapshots = region.snapshots.map((s) =>
      s.snapshotId === 'snap-old' ? { ...s, ownerId: '222222222222' } : s,
    );

    // Act
    const plan = planPrune([{ ...region, snapshots }], policy({ retention: { keepNewest: 1 } }), NOW);

    // Assess
    expect(verdict(plan, 'snap-old')).toEqual({ action: 'keep', reason: 'snapshot-not-owned' });
    expect(entry(plan, 'ami-old')).toMatchObject({ action: 'deregister', deleteAllSnapshots: false });
  });
});
