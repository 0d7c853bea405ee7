import fc from 'fast-check';
import { parseConfig } from '../../lambdas/core/config';
import { freebsdProfile, parseFreebsdName, type ParsedImageName } from '../../lambdas/core/naming';
import {
  ACTION_ORDER,
  deprecationTime,
  expectedTags,
  type PublishAction,
  type PublishOptions,
  planCounts,
  planPublish,
  planRegion,
  publishOptions,
  type RegionImage,
  type PublishInventory,
  type SourceImage,
} from '../../lambdas/core/publish';

const BUILD_REGION = 'us-east-1';
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const NOW = new Date('2026-11-27T00:00:00Z');
const OPTIONS: PublishOptions = {
  buildRegion: BUILD_REGION,
  makeAmiPublic: true,
  makeSnapshotPublic: true,
  deprecateAfterDays: 365,
  ssmPrefix: '/ami-pipeline/freebsd',
  managedTag: { key: 'ami-pipeline:managed-by', value: 'ami-pipeline' },
};

function parsed(name: string): ParsedImageName {
  const result = parseFreebsdName(name);
  if (!result.managed) throw new Error(result.reason);
  return result;
}

function source(name: string, imageId: string): SourceImage {
  const p = parsed(name);
  return {
    imageId,
    region: BUILD_REGION,
    name,
    description: `FreeBSD/${p.arch} main@abc1234`,
    architecture: p.arch === 'amd64' ? 'x86_64' : 'arm64',
    parsed: p,
    gitBranch: 'main',
    gitRevision: 'abc1234',
    snapshotIds: [`snap-${imageId.slice(4)}`],
  };
}

const SOURCES = [
  source('FreeBSD 15.0-CURRENT-amd64-20261120 base UFS', 'ami-00000000000000001'),
  source('FreeBSD 15.0-CURRENT-arm64-20261120 base ZFS', 'ami-00000000000000002'),
  source('FreeBSD 14.3-RELEASE-amd64 cloud-init UFS', 'ami-00000000000000003'),
];

function bareImage(imageId: string, name: string, overrides: Partial<RegionImage> = {}): RegionImage {
  return {
    imageId,
    name,
    state: 'available',
    public: false,
    snapshotIds: [`snap-${imageId.slice(4)}`],
    publicSnapshotIds: [],
    tags: {},
    snapshotTags: {},
    ...overrides,
  };
}

function emptyInventory(region: string): PublishInventory {
  const images = region === BUILD_REGION ? SOURCES.map((s) => bareImage(s.imageId, s.name)) : [];
  return { region, images, ssm: {} };
}

function copyId(sourceIndex: number, regionIndex: number): string {
  return `ami-1${regionIndex}${String(sourceIndex).padStart(15, '0')}`;
}

/** Applies actions to an inventory the way EC2 and SSM would, so a re-plan can be checked. */
function apply(inventory: PublishInventory, actions: readonly PublishAction[]): PublishInventory {
  const ssm = { ...inventory.ssm };
  const images = inventory.images.map((image) => {
    let next = { ...image, tags: { ...image.tags }, snapshotTags: { ...image.snapshotTags } };
    for (const action of actions) {
      if (action.kind === 'launch-permission' && action.imageId === image.imageId) next = { ...next, public: true };
      if (action.kind === 'snapshot-permission' && image.snapshotIds.includes(action.snapshotId)) {
        next = { ...next, publicSnapshotIds: [...next.publicSnapshotIds, action.snapshotId] };
      }
      if (action.kind === 'deprecate' && action.imageId === image.imageId) {
        next = { ...next, deprecationTime: action.deprecateAt };
      }
      if (action.kind === 'tag') {
        if (action.resourceIds.includes(image.imageId)) next.tags = { ...next.tags, ...action.tags };
        for (const id of image.snapshotIds) {
          if (action.resourceIds.includes(id)) next.snapshotTags[id] = { ...next.snapshotTags[id], ...action.tags };
        }
      }
      if (action.kind === 'ssm' && action.imageId === image.imageId) {
        ssm[action.parameter] = { imageId: image.imageId, imageName: image.name };
      }
    }
    return next;
  });
  return { region: inventory.region, images, ssm };
}

describe('publish planner', () => {
  test('copies every source into every other region and publishes the source in the build region', () => {
    const plan = planPublish({
      sources: SOURCES,
      inventories: REGIONS.map(emptyInventory),
      options: OPTIONS,
      profile: freebsdProfile,
      now: NOW,
    });

    const counts = planCounts(plan);
    expect(counts.copies).toBe(SOURCES.length * (REGIONS.length - 1));
    const build = plan.regions.find((r) => r.region === BUILD_REGION)!;
    expect(build.images.every((i) => i.copy.action === 'source')).toBe(true);
    const kinds = build.images.find((i) => i.name.includes('amd64-20261120'))!.actions.map((a) => a.kind);
    expect(kinds).toEqual(['tag', 'launch-permission', 'snapshot-permission', 'deprecate', 'ssm']);
    const europe = plan.regions.find((r) => r.region === 'eu-west-1')!;
    expect(europe.images.every((i) => i.copy.action === 'copy' && i.actions.length === 0)).toBe(true);
    expect(europe.images.find((i) => i.name.includes('RELEASE'))!.afterCopy).toEqual([
      'tag',
      'launch-permission',
      'snapshot-permission',
      'ssm',
    ]);
  });

  test('gives every image plan, copy decision and action a reason', () => {
    const plan = planPublish({
      sources: SOURCES,
      inventories: REGIONS.map(emptyInventory),
      options: OPTIONS,
      profile: freebsdProfile,
      now: NOW,
    });

    for (const image of plan.regions.flatMap((r) => r.images)) {
      expect(image.reason.length).toBeGreaterThan(5);
      expect(image.copy.reason.length).toBeGreaterThan(5);
      for (const action of image.actions) expect(action.reason.length).toBeGreaterThan(5);
    }
  });

  test('tags copies with series, build date, source image and region, git revision and the managed-by tag', () => {
    const tags = expectedTags(SOURCES[0]!, 'eu-west-1', OPTIONS);

    expect(tags).toEqual({
      'ami-pipeline:managed-by': 'ami-pipeline',
      'ami-pipeline:series': '15.0-CURRENT/amd64/base/ufs',
      'ami-pipeline:build-date': '2026-11-20',
      'ami-pipeline:source-image': 'ami-00000000000000001',
      'ami-pipeline:source-region': 'us-east-1',
      'ami-pipeline:git-branch': 'main',
      'ami-pipeline:git-revision': 'abc1234',
    });
    expect(expectedTags(SOURCES[0]!, BUILD_REGION, OPTIONS)).not.toHaveProperty('ami-pipeline:source-image');
  });

  test('deprecates snapshot builds after the configured days, never in the past, and never releases', () => {
    expect(deprecationTime(SOURCES[0]!, OPTIONS, NOW)).toBe('2027-11-20T00:00:00.000Z');
    expect(deprecationTime(SOURCES[2]!, OPTIONS, NOW)).toBeUndefined();
    const late = deprecationTime(SOURCES[0]!, { ...OPTIONS, deprecateAfterDays: 0 }, NOW);
    expect(late).toBe('2026-11-27T01:00:00.000Z');
  });

  test('waits for a pending copy and re-copies a failed one', () => {
    const inventory: PublishInventory = {
      region: 'eu-west-1',
      images: [
        bareImage('ami-20000000000000001', SOURCES[0]!.name, { state: 'pending' }),
        bareImage('ami-20000000000000002', SOURCES[1]!.name, { state: 'failed' }),
      ],
      ssm: {},
    };

    const plan = planRegion({ sources: SOURCES, inventory, options: OPTIONS, profile: freebsdProfile, now: NOW });

    const byName = Object.fromEntries(plan.images.map((i) => [i.name, i]));
    expect(byName[SOURCES[0]!.name]!.copy).toMatchObject({ action: 'exists', state: 'pending' });
    expect(byName[SOURCES[0]!.name]!.actions).toEqual([]);
    expect(byName[SOURCES[1]!.name]!.copy).toMatchObject({ action: 'recopy', imageId: 'ami-20000000000000002' });
    expect(byName[SOURCES[2]!.name]!.copy.action).toBe('copy');
  });

  test('copies afresh where the copy was deregistered, without deregistering it again', () => {
    const inventory: PublishInventory = {
      region: 'eu-west-1',
      images: [bareImage('ami-20000000000000001', SOURCES[0]!.name, { state: 'deregistered' })],
      ssm: {},
    };

    const plan = planRegion({ sources: [SOURCES[0]!], inventory, options: OPTIONS, profile: freebsdProfile, now: NOW });

    expect(plan.images[0]!.copy).toEqual({
      action: 'copy',
      reason: 'copy ami-20000000000000001 was deregistered: copy afresh',
    });
  });

  describe('snapshot block public access', () => {
    const image = (publicSnapshot: boolean) => ({
      region: 'eu-west-1',
      images: [
        bareImage('ami-20000000000000001', SOURCES[0]!.name, {
          publicSnapshotIds: publicSnapshot ? ['snap-20000000000000001'] : [],
        }),
      ],
      ssm: {},
    });
    const planUnder = (
      snapshotSharing: 'unblocked' | 'block-new-sharing' | 'block-all-sharing' | 'unknown',
      open = false,
    ) =>
      planRegion({
        sources: [SOURCES[0]!],
        inventory: image(open),
        options: OPTIONS,
        profile: freebsdProfile,
        now: NOW,
        snapshotSharing,
      }).images[0]!;

    test('under block-new-sharing plans no snapshot permission and says why the image stays incomplete', () => {
      const plan = planUnder('block-new-sharing');

      expect(plan.actions.map((a) => a.kind)).toEqual(['tag', 'launch-permission', 'deprecate', 'ssm']);
      expect(plan.blocked).toEqual([
        'snapshot block public access is block-new-sharing: the snapshot cannot be made public',
      ]);
    });

    test('under block-new-sharing a snapshot already public stays public and completes the image', () => {
      expect(planUnder('block-new-sharing', true).blocked).toEqual([]);
    });

    test('under block-all-sharing a snapshot whose attribute says all is not public', () => {
      const plan = planUnder('block-all-sharing', true);

      expect(plan.actions.some((a) => a.kind === 'snapshot-permission')).toBe(false);
      expect(plan.blocked[0]).toContain('block-all-sharing');
    });

    test('unread, a snapshot is never taken for public', () => {
      expect(planUnder('unknown', true).blocked[0]).toContain('could not be read');
      expect(planUnder('unblocked', true).blocked).toEqual([]);
    });
  });

  describe('public snapshots', () => {
    const withSnapshots = (snapshotIds: string[], publicSnapshotIds: string[], encrypted = false) =>
      planRegion({
        sources: [SOURCES[0]!],
        inventory: {
          region: 'eu-west-1',
          images: [bareImage('ami-40000000000000001', SOURCES[0]!.name, { snapshotIds, publicSnapshotIds, encrypted })],
          ssm: {},
        },
        options: OPTIONS,
        profile: freebsdProfile,
        now: NOW,
        snapshotSharing: 'unblocked',
      }).images[0]!;
    const shared = (plan: ReturnType<typeof withSnapshots>) =>
      plan.actions.flatMap((a) => (a.kind === 'snapshot-permission' ? [a.snapshotId] : []));

    test('makes every snapshot of an image public, not only its first', () => {
      // Act
      const plan = withSnapshots(['snap-root', 'snap-data', 'snap-swap'], []);

      // Assess
      expect(shared(plan)).toEqual(['snap-root', 'snap-data', 'snap-swap']);
    });

    test('plans permission only for the snapshots not yet public', () => {
      // Act
      const plan = withSnapshots(['snap-root', 'snap-data'], ['snap-root']);

      // Assess
      expect(shared(plan)).toEqual(['snap-data']);
    });

    test('an encrypted image is made neither public nor its snapshots, and the plan says why', () => {
      // Act
      const plan = withSnapshots(['snap-root'], [], true);

      // Assess
      expect(plan.actions.map((a) => a.kind)).not.toContain('snapshot-permission');
      expect(plan.actions.map((a) => a.kind)).not.toContain('launch-permission');
      expect(plan.reason).toContain('encrypted, so it cannot be made public');
    });
  });

  describe('SSM parameters move only forward', () => {
    const name = SOURCES[0]!.name;
    const parameter = '/ami-pipeline/freebsd/amd64/base/ufs/15.0/CURRENT';
    const planWith = (ssm: PublishInventory['ssm'], sources = [SOURCES[0]!]) =>
      planRegion({
        sources,
        inventory: { region: 'eu-west-1', images: [bareImage('ami-30000000000000001', name)], ssm },
        options: OPTIONS,
        profile: freebsdProfile,
        now: NOW,
      }).images[0]!.actions.filter((a) => a.kind === 'ssm');

    test('writes a parameter that does not exist or points at an older build', () => {
      expect(planWith({})).toEqual([expect.objectContaining({ parameter, imageId: 'ami-30000000000000001' })]);
      const older = { imageId: 'ami-0old', imageName: 'FreeBSD 15.0-CURRENT-amd64-20261113 base UFS' };
      expect(planWith({ [parameter]: older })[0]!.reason).toContain('moves forward from');
    });

    test('leaves a parameter that points at a newer build or at this image', () => {
      const newer = { imageId: 'ami-0new', imageName: 'FreeBSD 15.0-CURRENT-amd64-20261127 base UFS' };
      expect(planWith({ [parameter]: newer })).toEqual([]);
      expect(planWith({ [parameter]: { imageId: 'ami-30000000000000001', imageName: name } })).toEqual([]);
    });

    test('overwrites a parameter whose image is gone', () => {
      expect(planWith({ [parameter]: { imageId: 'ami-0gone' } })[0]!.reason).toContain('no longer exists');
    });

    test('gives a parameter only to the newest of two builds of one series in the same run', () => {
      const older = source('FreeBSD 15.0-CURRENT-amd64-20261113 base UFS', 'ami-00000000000000009');
      const plan = planRegion({
        sources: [SOURCES[0]!, older],
        inventory: {
          region: 'eu-west-1',
          images: [bareImage('ami-30000000000000001', name), bareImage('ami-30000000000000009', older.name)],
          ssm: {},
        },
        options: OPTIONS,
        profile: freebsdProfile,
        now: NOW,
      });

      const writes = plan.images.flatMap((i) => i.actions.filter((a) => a.kind === 'ssm'));
      expect(writes).toEqual([expect.objectContaining({ imageId: 'ami-30000000000000001' })]);
    });
  });

  test('plans nothing for images that are not to be made public when publishing is switched off', () => {
    const plan = planRegion({
      sources: SOURCES,
      inventory: emptyInventory(BUILD_REGION),
      options: { ...OPTIONS, makeAmiPublic: false, makeSnapshotPublic: false },
      profile: freebsdProfile,
      now: NOW,
    });

    const kinds = new Set(plan.images.flatMap((i) => i.actions.map((a) => a.kind)));
    expect(kinds.has('launch-permission')).toBe(false);
    expect(kinds.has('snapshot-permission')).toBe(false);
  });

  test('re-planning a half-done region plans exactly what is missing, and applying it leaves nothing', () => {
    // Each copy exists with a random subset of its attributes already in place.
    const done = fc.record({
      public: fc.boolean(),
      snapshotPublic: fc.boolean(),
      tagged: fc.boolean(),
      snapshotTagged: fc.boolean(),
      deprecated: fc.boolean(),
      ssm: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(done, { minLength: SOURCES.length, maxLength: SOURCES.length }), (states) => {
        const ssm: Record<string, { imageId: string; imageName: string }> = {};
        const images = SOURCES.map((s, index) => {
          const state = states[index]!;
          const id = copyId(index, 1);
          const snapshot = `snap-${id.slice(4)}`;
          const tags = expectedTags(s, 'eu-west-1', OPTIONS);
          const deprecateAt = deprecationTime(s, OPTIONS, NOW);
          if (state.ssm)
            ssm[freebsdProfile.ssmParameterName(OPTIONS.ssmPrefix, s.parsed)] = { imageId: id, imageName: s.name };
          return bareImage(id, s.name, {
            public: state.public,
            publicSnapshotIds: state.snapshotPublic ? [snapshot] : [],
            tags: state.tagged ? tags : {},
            snapshotTags: state.snapshotTagged ? { [snapshot]: tags } : {},
            deprecationTime: state.deprecated ? deprecateAt : undefined,
          });
        });
        const inventory: PublishInventory = { region: 'eu-west-1', images, ssm };
        const plan = planRegion({ sources: SOURCES, inventory, options: OPTIONS, profile: freebsdProfile, now: NOW });

        SOURCES.forEach((s, index) => {
          const state = states[index]!;
          const kinds = plan.images.find((i) => i.sourceImageId === s.imageId)!.actions.map((a) => a.kind);
          // Tags, launch permission, snapshot permission, deprecation, SSM: never an SSM write before the rest.
          expect(kinds).toEqual([...kinds].sort((a, b) => ACTION_ORDER.indexOf(a) - ACTION_ORDER.indexOf(b)));
          expect(kinds.includes('launch-permission')).toBe(!state.public);
          expect(kinds.includes('snapshot-permission')).toBe(!state.snapshotPublic);
          expect(kinds.includes('tag')).toBe(!state.tagged || !state.snapshotTagged);
          expect(kinds.includes('deprecate')).toBe(s.parsed.kind === 'snapshot' && !state.deprecated);
          expect(kinds.includes('ssm')).toBe(!state.ssm);
        });
        const after = apply(
          inventory,
          plan.images.flatMap((i) => i.actions),
        );
        const replan = planRegion({
          sources: SOURCES,
          inventory: after,
          options: OPTIONS,
          profile: freebsdProfile,
          now: NOW,
        });
        expect(planCounts({ regions: [replan] })).toEqual({ copies: 0, actions: 0, pending: 0 });
      }),
    );
  });
});

describe('publish planner details', () => {
  const EUROPE = 'eu-west-1';
  const COPY = 'ami-50000000000000001';
  const COPY_SNAPSHOT = 'snap-50000000000000001';
  const PARAMETER = '/ami-pipeline/freebsd/amd64/base/ufs/15.0/CURRENT';
  const snapshotBuild = SOURCES[0]!;

  /** A copy of the snapshot build with every change already in place, then `overrides`. */
  function publishedCopy(overrides: Partial<RegionImage> = {}): RegionImage {
    const tags = expectedTags(snapshotBuild, EUROPE, OPTIONS);
    return bareImage(COPY, snapshotBuild.name, {
      public: true,
      publicSnapshotIds: [COPY_SNAPSHOT],
      tags,
      snapshotTags: { [COPY_SNAPSHOT]: tags },
      deprecationTime: deprecationTime(snapshotBuild, OPTIONS, NOW),
      ...overrides,
    });
  }
  const pointsAtCopy = { [PARAMETER]: { imageId: COPY, imageName: snapshotBuild.name } };

  function planEurope(
    images: RegionImage[],
    {
      ssm = {},
      options = OPTIONS,
      sources = [snapshotBuild],
      snapshotSharing,
    }: {
      ssm?: PublishInventory['ssm'];
      options?: PublishOptions;
      sources?: SourceImage[];
      snapshotSharing?: 'unblocked' | 'block-new-sharing';
    } = {},
  ) {
    return planRegion({
      sources,
      inventory: { region: EUROPE, images, ssm },
      options,
      profile: freebsdProfile,
      now: NOW,
      snapshotSharing,
    });
  }

  describe('tags', () => {
    test('carry no build date or git tag a source does not have', () => {
      // Prepare
      const release = { ...SOURCES[2]!, gitBranch: undefined, gitRevision: undefined };

      // Act
      const tags = expectedTags(release, EUROPE, OPTIONS);

      // Assess
      expect(Object.keys(tags).sort()).toEqual([
        'ami-pipeline:managed-by',
        'ami-pipeline:series',
        'ami-pipeline:source-image',
        'ami-pipeline:source-region',
      ]);
    });

    test('are written again on the image alone when one of its tags has another value', () => {
      // Prepare
      const tags = expectedTags(snapshotBuild, EUROPE, OPTIONS);
      const image = publishedCopy({ tags: { ...tags, 'ami-pipeline:git-revision': 'fffffff' } });

      // Act
      const actions = planEurope([image], { ssm: pointsAtCopy }).images[0]!.actions;

      // Assess
      expect(actions).toEqual([{ kind: 'tag', resourceIds: [COPY], tags, reason: '1 resource(s) lack tags' }]);
    });
  });

  describe('deprecation', () => {
    test('of a late publication is rounded up to the next whole minute', () => {
      // Prepare
      const secondsPastMidnight = new Date('2026-11-27T00:00:30Z');

      // Act
      const at = deprecationTime(snapshotBuild, { ...OPTIONS, deprecateAfterDays: 0 }, secondsPastMidnight);

      // Assess
      expect(at).toBe('2026-11-27T01:01:00.000Z');
    });

    test('is left out for a snapshot without a build date and for a dated release, which another profile may give', () => {
      // Prepare
      const undated = { ...snapshotBuild, parsed: { ...snapshotBuild.parsed, buildDate: undefined } };
      const datedRelease = { ...SOURCES[2]!, parsed: { ...SOURCES[2]!.parsed, buildDate: '2026-11-20' } };

      // Act
      const times = [deprecationTime(undated, OPTIONS, NOW), deprecationTime(datedRelease, OPTIONS, NOW)];

      // Assess
      expect(times).toEqual([undefined, undefined]);
    });

    test('not yet set is set, saying so', () => {
      // Act
      const plan = planEurope([publishedCopy({ deprecationTime: undefined })], { ssm: pointsAtCopy }).images[0]!;

      // Assess
      expect(plan.actions).toEqual([
        {
          kind: 'deprecate',
          imageId: COPY,
          deprecateAt: '2027-11-20T00:00:00.000Z',
          reason: 'no deprecation time set',
        },
      ]);
    });

    test('read back up to a minute off is taken as set; further off it is set again, saying what it was', () => {
      // Prepare
      const aMinuteOff = publishedCopy({ deprecationTime: '2027-11-20T00:01:00.000Z' });
      const further = publishedCopy({ deprecationTime: '2027-11-20T00:01:01.000Z' });

      // Act
      const minute = planEurope([aMinuteOff], { ssm: pointsAtCopy }).images[0]!;
      const more = planEurope([further], { ssm: pointsAtCopy }).images[0]!;

      // Assess
      expect(minute.actions).toEqual([]);
      expect(more.actions).toEqual([
        {
          kind: 'deprecate',
          imageId: COPY,
          deprecateAt: '2027-11-20T00:00:00.000Z',
          reason: 'deprecation time is 2027-11-20T00:01:01.000Z',
        },
      ]);
    });
  });

  describe('SSM parameters', () => {
    test('move from an image whose name is not a managed build', () => {
      // Prepare
      const ssm = { [PARAMETER]: { imageId: 'ami-0hand', imageName: 'hand-made image' } };

      // Act
      const writes = planEurope([publishedCopy()], { ssm }).images[0]!.actions;

      // Assess
      expect(writes).toEqual([
        {
          kind: 'ssm',
          parameter: PARAMETER,
          imageId: COPY,
          reason: `${PARAMETER} points at ami-0hand whose name is not a managed build`,
        },
      ]);
    });

    test('stay on this image even when its name could not be read', () => {
      // Prepare
      const ssm = { [PARAMETER]: { imageId: COPY } };

      // Act
      const actions = planEurope([publishedCopy()], { ssm }).images[0]!.actions;

      // Assess
      expect(actions).toEqual([]);
    });

    test('go to the newest of two builds of one series whichever comes first', () => {
      // Prepare
      const older = source('FreeBSD 15.0-CURRENT-amd64-20261113 base UFS', 'ami-00000000000000009');
      const olderCopy = bareImage('ami-50000000000000009', older.name);

      // Act
      const plan = planEurope([olderCopy, publishedCopy()], { sources: [older, snapshotBuild] });

      // Assess
      const writes = plan.images.flatMap((i) => i.actions.filter((a) => a.kind === 'ssm'));
      expect(writes).toEqual([expect.objectContaining({ imageId: COPY })]);
    });

    test('stay on another image of the same build', () => {
      // Prepare
      const ssm = { [PARAMETER]: { imageId: 'ami-0twin', imageName: snapshotBuild.name } };

      // Act
      const actions = planEurope([publishedCopy()], { ssm }).images[0]!.actions;

      // Assess
      expect(actions).toEqual([]);
    });
  });

  describe('making an encrypted image public', () => {
    test('is noted when either the AMI or its snapshots are to be public, and not when neither is', () => {
      // Prepare
      const encrypted = publishedCopy({ public: false, publicSnapshotIds: [], encrypted: true });
      const only = (makeAmiPublic: boolean, makeSnapshotPublic: boolean) =>
        planEurope([encrypted], { ssm: pointsAtCopy, options: { ...OPTIONS, makeAmiPublic, makeSnapshotPublic } })
          .images[0]!.reason;

      // Act
      const reasons = [only(true, false), only(false, true), only(false, false)];

      // Assess
      expect(reasons).toEqual([
        'published: nothing left to do; encrypted, so it cannot be made public',
        'published: nothing left to do; encrypted, so it cannot be made public',
        'published: nothing left to do',
      ]);
    });
  });

  describe('the existing copy of a source', () => {
    test('is the available one among several of its name', () => {
      // Prepare
      const pending = bareImage('ami-50000000000000002', snapshotBuild.name, { state: 'pending' });

      // Act
      const plan = planEurope([pending, publishedCopy()], { ssm: pointsAtCopy }).images[0]!;

      // Assess
      expect(plan.copy).toEqual({
        action: 'exists',
        imageId: COPY,
        state: 'available',
        reason: `copy ${COPY} exists (available)`,
      });
    });

    test('that failed is deregistered and copied again, saying so', () => {
      // Prepare
      const failed = bareImage('ami-50000000000000003', snapshotBuild.name, { state: 'invalid' });

      // Act
      const plan = planEurope([failed]).images[0]!;

      // Assess
      expect(plan.copy).toEqual({
        action: 'recopy',
        imageId: 'ami-50000000000000003',
        state: 'invalid',
        reason: 'copy ami-50000000000000003 is invalid: deregister it and copy again',
      });
    });

    test('is one still pending rather than one that failed, and is then waited for', () => {
      // Prepare
      const failed = bareImage('ami-50000000000000003', snapshotBuild.name, { state: 'failed' });
      const pending = bareImage('ami-50000000000000002', snapshotBuild.name, { state: 'pending' });

      // Act
      const plan = planEurope([failed, pending]).images[0]!;

      // Assess
      expect(plan.copy).toMatchObject({ action: 'exists', imageId: 'ami-50000000000000002', state: 'pending' });
      expect(plan.reason).toBe('waiting for ami-50000000000000002 (pending)');
      expect(plan.blocked).toEqual([]);
    });

    test('is not copied again when a deregistered one lies beside it', () => {
      // Prepare
      const gone = bareImage('ami-50000000000000004', snapshotBuild.name, { state: 'deregistered' });
      const pending = bareImage('ami-50000000000000002', snapshotBuild.name, { state: 'pending' });

      // Act
      const plan = planEurope([gone, pending]).images[0]!;

      // Assess
      expect(plan.copy).toMatchObject({ action: 'exists', imageId: 'ami-50000000000000002' });
    });

    test('is not taken from a deregistered copy of another source', () => {
      // Prepare
      const otherGone = bareImage('ami-50000000000000005', SOURCES[1]!.name, { state: 'deregistered' });

      // Act
      const plan = planEurope([otherGone]).images[0]!;

      // Assess
      expect(plan.copy).toEqual({ action: 'copy', reason: 'no image of this name in the region' });
    });
  });

  describe('the changes after a copy', () => {
    test('are only those configured', () => {
      // Act
      const plan = planEurope([], { options: { ...OPTIONS, makeAmiPublic: false, makeSnapshotPublic: false } });

      // Assess
      expect(plan.images[0]!.afterCopy).toEqual(['tag', 'deprecate', 'ssm']);
    });

    test('leave out a parameter that already points at a newer build', () => {
      // Prepare
      const newer = { [PARAMETER]: { imageId: 'ami-0new', imageName: 'FreeBSD 15.0-CURRENT-amd64-20261127 base UFS' } };

      // Act
      const plan = planEurope([], { ssm: newer });

      // Assess
      expect(plan.images[0]!.afterCopy).toEqual(['tag', 'launch-permission', 'snapshot-permission', 'deprecate']);
    });
  });

  describe('the reason of an image', () => {
    test('says it is published when nothing is left, with nothing to follow', () => {
      // Act
      const plan = planEurope([publishedCopy()], { ssm: pointsAtCopy }).images[0]!;

      // Assess
      expect(plan).toMatchObject({ actions: [], afterCopy: [], blocked: [], reason: 'published: nothing left to do' });
    });

    test('says it cannot be published when only a blocked snapshot is missing', () => {
      // Prepare
      const privateSnapshot = publishedCopy({ publicSnapshotIds: [] });

      // Act
      const plan = planEurope([privateSnapshot], { ssm: pointsAtCopy, snapshotSharing: 'block-new-sharing' })
        .images[0]!;

      // Assess
      expect(plan.reason).toBe(
        'cannot be published as configured; snapshot block public access is block-new-sharing: the snapshot cannot be made public',
      );
    });

    test('counts the changes still needed', () => {
      // Prepare
      const privateCopy = publishedCopy({ public: false, publicSnapshotIds: [] });

      // Act
      const plan = planEurope([privateCopy], { ssm: pointsAtCopy }).images[0]!;

      // Assess
      expect(plan.reason).toBe('2 change(s) needed');
    });
  });

  describe('in the build region', () => {
    test('publishes each source image itself', () => {
      // Act
      const plan = planRegion({
        sources: SOURCES,
        inventory: emptyInventory(BUILD_REGION),
        options: OPTIONS,
        profile: freebsdProfile,
        now: NOW,
      });

      // Assess
      for (const image of plan.images) {
        expect(image.actions.find((a) => a.kind === 'launch-permission')).toMatchObject({
          imageId: image.sourceImageId,
        });
      }
    });

    test('waits for a source image the inventory does not list yet', () => {
      // Act
      const plan = planRegion({
        sources: [snapshotBuild],
        inventory: { region: BUILD_REGION, images: [], ssm: {} },
        options: OPTIONS,
        profile: freebsdProfile,
        now: NOW,
      }).images[0]!;

      // Assess
      expect(plan.copy).toEqual({
        action: 'source',
        imageId: snapshotBuild.imageId,
        state: undefined,
        reason: 'the source image itself',
      });
      expect(plan.actions).toEqual([]);
    });
  });

  describe('a whole plan', () => {
    test('lists its sources, its regions by name and each region’s images by name', () => {
      // Act
      const plan = planPublish({
        sources: [...SOURCES].reverse(),
        inventories: REGIONS.map(emptyInventory),
        options: OPTIONS,
        profile: freebsdProfile,
        now: NOW,
      });

      // Assess
      expect(plan.sources).toEqual([...SOURCES].reverse().map((s) => ({ imageId: s.imageId, name: s.name })));
      expect(plan.regions.map((r) => r.region)).toEqual(['ap-southeast-2', 'eu-west-1', 'us-east-1']);
      const names = plan.regions[0]!.images.map((i) => i.name);
      expect(names).toEqual(SOURCES.map((s) => s.name).sort((a, b) => a.localeCompare(b)));
    });

    test('plans in a region only the sources named for it', () => {
      // Act
      const plan = planPublish({
        sources: SOURCES,
        inventories: REGIONS.map(emptyInventory),
        options: OPTIONS,
        profile: freebsdProfile,
        now: NOW,
        sourcesIn: { [EUROPE]: [snapshotBuild.imageId] },
      });

      // Assess
      const perRegion = Object.fromEntries(plan.regions.map((r) => [r.region, r.images.length]));
      expect(perRegion).toEqual({ 'ap-southeast-2': 3, [EUROPE]: 1, [BUILD_REGION]: 3 });
      expect(plan.regions.find((r) => r.region === EUROPE)!.images[0]!.sourceImageId).toBe(snapshotBuild.imageId);
    });

    test('counts copies to make or make again, and copies still pending', () => {
      // Prepare
      const images = [
        bareImage('ami-50000000000000002', SOURCES[0]!.name, { state: 'pending' }),
        bareImage('ami-50000000000000003', SOURCES[1]!.name, { state: 'failed' }),
      ];

      // Act
      const counts = planCounts({ regions: [planEurope(images, { sources: SOURCES })] });

      // Assess
      expect(counts).toEqual({ copies: 2, actions: 0, pending: 1 });
    });

    test('counts the changes of available images', () => {
      // Prepare
      const privateCopy = publishedCopy({ public: false, publicSnapshotIds: [] });

      // Act
      const counts = planCounts({ regions: [planEurope([privateCopy], { ssm: pointsAtCopy })] });

      // Assess
      expect(counts).toEqual({ copies: 0, actions: 2, pending: 0 });
    });
  });
});

describe('publish options', () => {
  test('are read from the configuration', () => {
    // Prepare
    const config = parseConfig({
      buildRegion: 'eu-west-1',
      managedTag: { key: 'owner', value: 'freebsd-release' },
      publish: { makeAmiPublic: false, makeSnapshotPublic: false, deprecateAfterDays: 90, ssmPrefix: '/freebsd/ami' },
    });

    // Act
    const options = publishOptions(config);

    // Assess
    expect(options).toEqual({
      buildRegion: 'eu-west-1',
      makeAmiPublic: false,
      makeSnapshotPublic: false,
      deprecateAfterDays: 90,
      ssmPrefix: '/freebsd/ami',
      managedTag: { key: 'owner', value: 'freebsd-release' },
    });
  });
});
