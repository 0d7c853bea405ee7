import { parseConfig } from '../../lambdas/core/config';
import { type InventoryImage, planPrune, prunePolicy } from '../../lambdas/core/prune';
import { TAG } from '../../lambdas/core/tags';
import {
  at,
  dateAgo,
  detail,
  entry,
  image,
  MANAGED,
  NOW,
  policy,
  regionOf,
  snapshot,
  verdict,
} from '../support/prune-inventory';

// Each rule is checked on both sides of its boundary, so that moving the boundary by one day fails a test.
const TODAY = '2026-11-26';

/** A snapshot build of 14.3-STABLE amd64 base UFS built `days` ago. */
const build = (id: string, days: number, extra: Partial<InventoryImage> = {}) =>
  image(id, `FreeBSD 14.3-STABLE-amd64-${dateAgo(days).replaceAll('-', '')} base UFS`, extra);

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

describe('the policy', () => {
  test('carries the operator’s breaker override and cap boundary into the plan; without them the breaker holds', () => {
    // Prepare: 10 builds of which 6 are due; a cap of 2 whose boundary, from an earlier batch, reaches 3 of them.
    const fleet = Array.from({ length: 10 }, (_, i) => build(`ami-b${i}`, 1 + 30 * i));
    const config = parseConfig({
      retention: { keepNewest: 4, minAgeDays: 90 },
      safety: { maxDeleteShare: 0.5, maxDeletionsPerRun: 2 },
    });
    const boundary = `${dateAgo(211)}|us-east-1|ami-b7`;

    // Act
    const plain = planPrune([regionOf(fleet)], prunePolicy(config), NOW);
    const continued = planPrune(
      [regionOf(fleet)],
      prunePolicy(config, { overrideBreaker: true, capBoundary: boundary }),
      NOW,
    );

    // Assess
    expect(plain.regions[0]!.breaker).toMatchObject({ tripped: true, overridden: false });
    expect(continued.regions[0]!.breaker).toMatchObject({ tripped: false, overridden: true });
    expect(continued.capBoundary).toBe(boundary);
    expect(continued.regions[0]!.images.filter((i) => i.action === 'deregister').map((i) => i.imageId)).toEqual([
      'ami-b9',
      'ami-b8',
      'ami-b7',
    ]);
  });
});

describe('release dates', () => {
  test('a publication tag that is not a date falls back to the registration date', () => {
    // Prepare
    const fleet = [
      image('ami-r143', 'FreeBSD 14.3-RELEASE-amd64 base UFS', {
        creationDate: at(40),
        tags: { ...MANAGED, [TAG.publishedAt]: 'last week' },
      }),
      image('ami-c143', 'FreeBSD 14.3-RC1-amd64 base UFS'),
    ];

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { prereleaseGraceDays: 30 } }), NOW);

    // Assess
    expect(entry(plan, 'ami-c143')).toMatchObject({
      action: 'deregister',
      reason: 'prerelease-after-release',
      ageDate: dateAgo(40),
    });
  });

  test('a release without any date counts as published today: its pre-releases wait the whole grace', () => {
    // Prepare
    const fleet = [
      image('ami-r143', 'FreeBSD 14.3-RELEASE-amd64 base UFS'),
      image('ami-c143', 'FreeBSD 14.3-RC1-amd64 base UFS'),
    ];

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { prereleaseGraceDays: 30 } }), NOW);

    // Assess
    expect(entry(plan, 'ami-c143')).toMatchObject({
      action: 'keep',
      reason: 'prerelease-grace',
      detail: `14.3-RELEASE exists since ${TODAY}, only 0 days`,
      ageDate: TODAY,
    });
  });
});

describe('development lines', () => {
  test('a line keeps its newest builds on its end-of-life date and loses them the day after', () => {
    // Prepare
    const fleet = [
      image('ami-s12', `FreeBSD 12.4-STABLE-amd64-${dateAgo(300).replaceAll('-', '')} base UFS`),
      image('ami-s13', `FreeBSD 13.5-STABLE-amd64-${dateAgo(300).replaceAll('-', '')} base UFS`),
    ];
    const lineEndOfLife = { '12-STABLE': dateAgo(1), '13-STABLE': TODAY };

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { lineEndOfLife } }), NOW);

    // Assess
    expect(verdict(plan, 'ami-s12')).toEqual({ action: 'deregister', reason: 'line-end-of-life' });
    expect(verdict(plan, 'ami-s13')).toEqual({ action: 'keep', reason: 'newest-builds' });
    expect(plan.retiredLines).toEqual([{ line: '12-STABLE', endOfLife: dateAgo(1) }]);
  });

  test('retired lines are listed by end-of-life date, then by name, whatever the order of the configuration', () => {
    // Prepare
    const lineEndOfLife = {
      '11-STABLE': '2021-09-30',
      '10-STABLE': '2020-10-31',
      '9-STABLE': '2018-12-31',
      '11-CURRENT': '2021-09-30',
    };

    // Act
    const plan = planPrune([regionOf([])], policy({ retention: { lineEndOfLife } }), NOW);

    // Assess
    expect(plan.retiredLines.map((r) => r.line)).toEqual(['9-STABLE', '10-STABLE', '11-CURRENT', '11-STABLE']);
  });

  test('the newest CURRENT line of a variant keeps its newest builds however old; another variant is not superseded', () => {
    // Prepare
    const current = (id: string, version: string, arch: string, days: number) =>
      image(id, `FreeBSD ${version}-CURRENT-${arch}-${dateAgo(days).replaceAll('-', '')} base UFS`);
    const fleet = [
      current('ami-a15', '15.0', 'amd64', 400),
      current('ami-a16', '16.0', 'amd64', 300),
      current('ami-r15', '15.0', 'arm64', 400),
    ];

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { keepNewest: 1 } }), NOW);

    // Assess
    expect(verdict(plan, 'ami-a15')).toEqual({ action: 'deregister', reason: 'aged-out' });
    expect(verdict(plan, 'ami-a16')).toEqual({ action: 'keep', reason: 'newest-builds' });
    expect(verdict(plan, 'ami-r15')).toEqual({ action: 'keep', reason: 'newest-builds' });
  });

  test('two copies of one build are ranked by image id, whichever is listed first', () => {
    // Prepare
    const fleet = [build('ami-b', 300), build('ami-a', 300)];

    // Act
    const plans = [fleet, [...fleet].reverse()].map((images) =>
      planPrune([regionOf(images)], policy({ retention: { keepNewest: 1 } }), NOW),
    );

    // Assess
    for (const plan of plans) {
      expect(verdict(plan, 'ami-a')).toEqual({ action: 'keep', reason: 'newest-builds' });
      expect(verdict(plan, 'ami-b')).toEqual({ action: 'deregister', reason: 'aged-out' });
    }
  });
});

describe('protections', () => {
  test('apply only to images a rule would delete: a kept image says which rule keeps it', () => {
    // Prepare
    const fleet = [
      build('ami-n1', 1),
      image('ami-r143', 'FreeBSD 14.3-RELEASE-amd64 base UFS', {
        deregistrationProtection: 'enabled',
        state: 'pending',
      }),
    ];
    const ssmReferences = { 'ami-n1': ['/ami-pipeline/freebsd/amd64/base/ufs/14.3/STABLE'] };

    // Act
    const plan = planPrune([regionOf(fleet, { ssmReferences })], policy({ retention: { keepNewest: 1 } }), NOW);

    // Assess
    expect(verdict(plan, 'ami-n1')).toEqual({ action: 'keep', reason: 'newest-builds' });
    expect(verdict(plan, 'ami-r143')).toEqual({ action: 'keep', reason: 'release' });
  });
});

describe('every entry says why, in one sentence with its figures', () => {
  test('images kept or deleted by retention and by the protections', () => {
    // Prepare
    const fleet = [
      build('ami-n1', 1),
      build('ami-young', 89),
      build('ami-old', 90),
      image('ami-r142', 'FreeBSD 14.2-RELEASE-amd64 base UFS'),
      image('ami-c150', 'FreeBSD 15.0-RC1-amd64 base UFS'),
      image('ami-r143', 'FreeBSD 14.3-RELEASE-amd64 base UFS', { creationDate: at(30) }),
      image('ami-c143', 'FreeBSD 14.3-RC1-amd64 base UFS'),
      image('ami-r144', 'FreeBSD 14.4-RELEASE-amd64 base UFS', { creationDate: at(29) }),
      image('ami-c144', 'FreeBSD 14.4-RC1-amd64 base UFS'),
      build('ami-ssm', 301),
      build('ami-protected', 302, { deregistrationProtection: 'enabled' }),
      build('ami-launched', 303, { lastLaunchedTime: at(29) }),
      build('ami-pending', 304, { state: 'pending' }),
      build('ami-foreign', 305, { ownerId: '222222222222' }),
      build('ami-untagged', 306, { tags: {} }),
    ];
    const ssmReferences = { 'ami-ssm': ['/p/amd64/base/ufs/14.3/STABLE', '/q/amd64/base/ufs/14.3/STABLE'] };

    // Act
    const plan = planPrune(
      [regionOf(fleet, { ssmReferences })],
      policy({ retention: { keepNewest: 1, minAgeDays: 90, prereleaseGraceDays: 30, keepLaunchedWithinDays: 30 } }),
      NOW,
    );

    // Assess
    const line = '14-STABLE/amd64/base/ufs';
    expect(detail(plan, 'ami-n1')).toBe(`one of the newest 1 builds of ${line}`);
    expect(detail(plan, 'ami-young')).toBe('built 89 days ago, younger than 90 days');
    expect(detail(plan, 'ami-old')).toBe(`built 90 days ago and older than the newest 1 builds of ${line}`);
    expect(detail(plan, 'ami-r142')).toBe('releases are kept until 14.2 has an end-of-life date');
    expect(detail(plan, 'ami-c150')).toBe('15.0-RELEASE is not here yet');
    expect(detail(plan, 'ami-c143')).toBe(`14.3-RELEASE exists since ${dateAgo(30)}, 30 days (grace 30)`);
    expect(detail(plan, 'ami-c144')).toBe(`14.4-RELEASE exists since ${dateAgo(29)}, only 29 days`);
    expect(detail(plan, 'ami-ssm')).toBe(
      'referenced by SSM parameter /p/amd64/base/ufs/14.3/STABLE, /q/amd64/base/ufs/14.3/STABLE',
    );
    expect(detail(plan, 'ami-protected')).toBe('deregistration protection is enabled');
    expect(detail(plan, 'ami-launched')).toBe('launched 29 days ago (within 30 days)');
    expect(detail(plan, 'ami-pending')).toBe('image state is pending');
    expect(detail(plan, 'ami-foreign')).toBe('owned by 222222222222');
    expect(detail(plan, 'ami-untagged')).toBe('no ami-pipeline:managed-by=ami-pipeline tag; adopt it to manage it');
  });

  test('soft deletions pending and due', () => {
    // Prepare
    const fleet = [
      build('ami-n1', 1),
      build('ami-due', 300, { tags: { ...MANAGED, [TAG.deleteAfter]: TODAY } }),
      build('ami-pending', 301, { tags: { ...MANAGED, [TAG.deleteAfter]: dateAgo(-1) } }),
    ];

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { keepNewest: 1, softDeleteGraceDays: 7 } }), NOW);

    // Assess
    expect(detail(plan, 'ami-due')).toBe(
      `soft-deleted, deletion was due ${TODAY} (built 300 days ago and older than the newest 1 builds of 14-STABLE/amd64/base/ufs)`,
    );
    expect(detail(plan, 'ami-pending')).toBe(`made private earlier, deletion due ${dateAgo(-1)}`);
  });

  test('snapshots of images and orphans', () => {
    // Prepare
    const fleet = [
      build('ami-n1', 1),
      build('ami-old', 300),
      build('ami-foreign-snap', 301),
      build('ami-untagged-snap', 302),
    ];
    const region = regionOf(fleet);
    const snapshots = [
      ...region.snapshots.map((s) =>
        s.snapshotId === 'snap-foreign-snap'
          ? { ...s, ownerId: '222222222222' }
          : s.snapshotId === 'snap-untagged-snap'
            ? { ...s, tags: {} }
            : s,
      ),
      snapshot('snap-made', { startTime: at(14), description: 'Created by CreateImage(i-0123) for ami-0abc' }),
      snapshot('snap-plain', { startTime: at(14) }),
      snapshot('snap-young', { startTime: at(13) }),
      snapshot('snap-foreign', { ownerId: '222222222222' }),
    ];

    // Act
    const plan = planPrune(
      [{ ...region, snapshots }],
      policy({ retention: { keepNewest: 1, orphanSnapshotGraceDays: 14 } }),
      NOW,
    );

    // Assess
    expect(detail(plan, 'snap-n1')).toBe('used by ami-n1');
    expect(detail(plan, 'snap-old')).toBe('only ami-old used it');
    expect(detail(plan, 'snap-foreign-snap')).toBe('owned by 222222222222');
    expect(detail(plan, 'snap-untagged-snap')).toBe(
      'its image is deregistered but the snapshot lacks the ami-pipeline:managed-by tag; adopt it',
    );
    expect(detail(plan, 'snap-made')).toBe('no image uses it (made for ami-0abc); started 14 days ago');
    expect(detail(plan, 'snap-plain')).toBe('no image uses it; started 14 days ago');
    expect(detail(plan, 'snap-young')).toBe('no image uses it; started 13 days ago, grace 14 days');
    expect(detail(plan, 'snap-foreign')).toBe('owned by 222222222222');
  });
});

describe('the breaker and the cap, with orphans', () => {
  test('an override that is not needed is not reported as used', () => {
    // Act
    const plan = planPrune(
      [regionOf([build('ami-n1', 1), build('ami-old', 300)])],
      { ...policy({ retention: { keepNewest: 1 }, safety: { maxDeleteShare: 0.5 } }), overrideBreaker: true },
      NOW,
    );

    // Assess
    expect(plan.regions[0]!.breaker).toMatchObject({ share: 0.5, tripped: false, overridden: false });
  });

  test('a tripped region refuses its due orphans and leaves the reason of those still in their grace', () => {
    // Prepare
    const region = regionOf([build('ami-n1', 1), build('ami-old', 300)]);
    const snapshots = [
      ...region.snapshots,
      snapshot('snap-due', { startTime: at(90) }),
      snapshot('snap-young', { startTime: at(1) }),
    ];

    // Act
    const plan = planPrune(
      [{ ...region, snapshots }],
      policy({ retention: { keepNewest: 1 }, safety: { maxDeleteShare: 0.4 } }),
      NOW,
    );

    // Assess
    expect(entry(plan, 'snap-due')).toMatchObject({
      action: 'keep',
      reason: 'breaker',
      detail: 'region breaker tripped',
    });
    expect(verdict(plan, 'snap-young')).toEqual({ action: 'keep', reason: 'orphan-grace' });
  });

  test('orphans due take part in the cap oldest first with the images; orphans in their grace do not count', () => {
    // Prepare: due, oldest first: snap-o400, ami-old300, snap-o200, ami-old100.
    const region = regionOf([build('ami-n1', 1), build('ami-old300', 300), build('ami-old100', 100)]);
    const snapshots = [
      ...region.snapshots,
      snapshot('snap-o400', { startTime: at(400) }),
      snapshot('snap-o200', { startTime: at(200) }),
      snapshot('snap-young', { startTime: at(1) }),
    ];

    // Act
    const plan = planPrune(
      [{ ...region, snapshots }],
      policy({ retention: { keepNewest: 1 }, safety: { maxDeletionsPerRun: 2, maxDeleteShare: 1 } }),
      NOW,
    );

    // Assess
    expect(verdict(plan, 'snap-o400')).toEqual({ action: 'delete', reason: 'orphan' });
    expect(verdict(plan, 'ami-old300')).toEqual({ action: 'deregister', reason: 'aged-out' });
    expect(entry(plan, 'snap-o200')).toMatchObject({
      action: 'deferred',
      reason: 'over-cap',
      detail:
        'deletion cap for this run reached (safety.maxDeletionsPerRun); a later run deletes it (no image uses it; started 200 days ago)',
    });
    expect(entry(plan, 'ami-old100')).toMatchObject({ action: 'deferred', reason: 'over-cap' });
    expect(entry(plan, 'snap-old100')).toMatchObject({
      action: 'deferred',
      reason: 'over-cap',
      detail: 'its image ami-old100 is deferred',
    });
    expect(verdict(plan, 'snap-young')).toEqual({ action: 'keep', reason: 'orphan-grace' });
    expect(plan.deferred).toBe(2);
    expect(plan.capBoundary).toBe(`${dateAgo(300)}|us-east-1|ami-old300`);
  });

  test('a run whose deletions all fit the cap has no cap boundary', () => {
    // Act
    const plan = planPrune(
      [regionOf([build('ami-n1', 1), build('ami-old', 300)])],
      policy({ retention: { keepNewest: 1 }, safety: { maxDeletionsPerRun: 1, maxDeleteShare: 1 } }),
      NOW,
    );

    // Assess
    expect(plan.deferred).toBe(0);
    expect(plan).not.toHaveProperty('capBoundary');
  });

  test('a snapshot shared by a deferred image and a kept one is kept for the kept one', () => {
    // Prepare
    const fleet = [
      build('ami-n1', 1, { snapshotIds: ['snap-shared'] }),
      build('ami-old300', 300),
      build('ami-old200', 200, { snapshotIds: ['snap-shared'] }),
    ];

    // Act
    const plan = planPrune(
      [regionOf(fleet, { snapshots: [snapshot('snap-shared'), snapshot('snap-old300')] })],
      policy({ retention: { keepNewest: 1 }, safety: { maxDeletionsPerRun: 1, maxDeleteShare: 1 } }),
      NOW,
    );

    // Assess
    expect(verdict(plan, 'ami-old200')).toEqual({ action: 'deferred', reason: 'over-cap' });
    expect(verdict(plan, 'snap-shared')).toEqual({ action: 'keep', reason: 'used-by-remaining-image' });
  });

  test('a region’s plan lists its images oldest first, those without an age first of all', () => {
    // Prepare
    const fleet = [
      build('ami-n1', 1),
      build('ami-old100', 100),
      image('ami-golden', 'golden image'),
      build('ami-old300', 300),
      image('ami-r143', 'FreeBSD 14.3-RELEASE-amd64 base UFS'),
    ];

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { keepNewest: 1 } }), NOW);

    // Assess
    expect(plan.regions[0]!.images.map((i) => i.imageId)).toEqual([
      'ami-golden',
      'ami-r143',
      'ami-old300',
      'ami-old100',
      'ami-n1',
    ]);
  });

  test('a deleted orphan keeps its full size for the report', () => {
    // Prepare
    const region = regionOf([], { snapshots: [snapshot('snap-orphan', { fullSizeBytes: 2_000 })] });

    // Act
    const plan = planPrune([region], policy(), NOW);

    // Assess
    expect(entry(plan, 'snap-orphan')).toMatchObject({ action: 'delete', fullSizeBytes: 2_000 });
  });
});

describe('entries without a rule’s figures', () => {
  test('with the launch rule off, an image launched after the plan’s clock (while it ran) still goes', () => {
    // Prepare
    const fleet = [build('ami-n1', 1), build('ami-old', 300, { lastLaunchedTime: at(0, 60_000) })];

    // Act
    const plan = planPrune([regionOf(fleet)], policy({ retention: { keepNewest: 1, keepLaunchedWithinDays: 0 } }), NOW);

    // Assess
    expect(verdict(plan, 'ami-old')).toEqual({ action: 'deregister', reason: 'aged-out' });
  });

  test('an unmanaged name has no series or line in its entry, and a kept release no age', () => {
    // Prepare
    const fleet = [image('ami-golden', 'golden image'), image('ami-r143', 'FreeBSD 14.3-RELEASE-amd64 base UFS')];

    // Act
    const plan = planPrune([regionOf(fleet)], policy(), NOW);

    // Assess
    const golden = entry(plan, 'ami-golden');
    expect(golden).not.toHaveProperty('seriesKey');
    expect(golden).not.toHaveProperty('lineKey');
    expect(entry(plan, 'ami-r143')).not.toHaveProperty('ageDate');
  });

  test('a snapshot whose full size EC2 did not report has none in its entry, whether an image uses it or not', () => {
    // Prepare
    const region = regionOf([build('ami-n1', 1)]);
    const snapshots = [...region.snapshots, snapshot('snap-orphan')];

    // Act
    const plan = planPrune([{ ...region, snapshots }], policy(), NOW);

    // Assess
    expect(entry(plan, 'snap-n1')).not.toHaveProperty('fullSizeBytes');
    expect(entry(plan, 'snap-orphan')).not.toHaveProperty('fullSizeBytes');
  });
});
