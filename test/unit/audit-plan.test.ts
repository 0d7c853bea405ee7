import fc from 'fast-check';
import {
  type AuditInventory,
  type AuditRegionInventory,
  type AuditSource,
  type FindingKind,
  planAudit,
  type ReportedFinding,
  regionReport,
  selectAuditedBuilds,
  settleFindings,
  summarizeAudit,
} from '../../lambdas/core/audit';
import { parseConfig } from '../../lambdas/core/config';
import { freebsdProfile, parseFreebsdName } from '../../lambdas/core/naming';
import { deprecationTime, expectedTags, publishOptions, type RegionImage } from '../../lambdas/core/publish';
import { TAG } from '../../lambdas/core/tags';
import { DAY_MS } from '../../lambdas/core/time';

const BUILD_REGION = 'us-east-1';
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
const NOW = new Date('2026-11-27T00:00:00Z');
const config = parseConfig({ buildRegion: BUILD_REGION, retention: { releaseEndOfLife: { '13.4': '2026-06-30' } } });
const options = publishOptions(config);

let nextId = 0;
const id = (prefix: string) => `${prefix}-${(nextId++).toString(16).padStart(17, '0')}`;

function build(name: string, published = true): AuditSource {
  const parsed = parseFreebsdName(name);
  if (!parsed.managed) throw new Error(parsed.reason);
  const imageId = id('ami');
  return {
    imageId,
    region: BUILD_REGION,
    name,
    description: `FreeBSD/${parsed.arch} main@abc1234`,
    architecture: parsed.arch === 'amd64' ? 'x86_64' : 'arm64',
    parsed,
    gitBranch: 'main',
    gitRevision: 'abc1234',
    snapshotIds: [id('snap')],
    published,
  };
}

/** An image exactly as publish leaves it in `region`: public, snapshot public, tagged, deprecated. */
function publishedImage(source: AuditSource, region: string): RegionImage {
  const here = region === BUILD_REGION;
  const tags = expectedTags(source, region, options);
  const snapshotIds = here ? source.snapshotIds : [id('snap')];
  return {
    imageId: here ? source.imageId : id('ami'),
    name: source.name,
    state: 'available',
    public: true,
    snapshotIds,
    publicSnapshotIds: snapshotIds,
    tags,
    snapshotTags: Object.fromEntries(snapshotIds.map((s) => [s, tags])),
    deprecationTime: deprecationTime(source, options, NOW),
  };
}

/** Every region with every source published as publish would, SSM pointing at the newest build of each series. */
function publishedFleet(sources: readonly AuditSource[], regions = REGIONS): AuditInventory {
  const inventories = regions.map((region): AuditRegionInventory => {
    const images = sources.map((s) => publishedImage(s, region));
    const ssm: Record<string, { imageId: string; imageName: string }> = {};
    const ordered = [...images].sort((a, b) => a.name.localeCompare(b.name));
    for (const source of [...sources].sort((a, b) => a.name.localeCompare(b.name))) {
      const parameter = freebsdProfile.ssmParameterName(options.ssmPrefix, source.parsed);
      const image = ordered.find((i) => i.name === source.name)!;
      const current = ssm[parameter];
      const newer =
        !current ||
        (parseFreebsdName(current.imageName) as { buildDate?: string }).buildDate! < source.parsed.buildDate!;
      if (newer || source.parsed.kind !== 'snapshot')
        ssm[parameter] = { imageId: image.imageId, imageName: image.name };
    }
    return { region, images, ssm, snapshotSharing: 'unblocked' };
  });
  return { sources, regions: inventories };
}

const SERIES = [
  '15.0-CURRENT/amd64/base/ufs',
  '15.0-CURRENT/arm64/base/zfs',
  '14.3-STABLE/amd64/cloud-init/ufs',
  '13.5-STABLE/arm64/small/zfs',
];

function snapshotName(series: string, buildDate: string): string {
  const [versionBranch, arch, flavour, fs] = series.split('/') as [string, string, string, string];
  return `FreeBSD ${versionBranch}-${arch}-${buildDate.replaceAll('-', '')} ${flavour} ${fs.toUpperCase()}`;
}

/** Arbitrary fleets: some series, one to three weekly builds each, and maybe a release. */
const fleets = fc
  .record({
    series: fc.subarray(SERIES, { minLength: 1 }),
    weeks: fc.integer({ min: 1, max: 3 }),
    release: fc.boolean(),
  })
  .map(({ series, weeks, release }) => {
    const sources = series.flatMap((s) =>
      Array.from({ length: weeks }, (_, week) =>
        build(snapshotName(s, new Date(Date.parse('2026-11-20') - week * 7 * DAY_MS).toISOString().slice(0, 10))),
      ),
    );
    if (release) sources.push(build('FreeBSD 14.3-RELEASE-amd64 base UFS'));
    return sources;
  });

type Drift = (fleet: AuditInventory, region: number, target: AuditSource) => AuditInventory;

function changeImage(
  fleet: AuditInventory,
  region: number,
  target: AuditSource,
  change: (image: RegionImage) => RegionImage | undefined,
): AuditInventory {
  return {
    ...fleet,
    regions: fleet.regions.map((r, i) =>
      i !== region
        ? r
        : {
            ...r,
            images: r.images.flatMap((image) => (image.name === target.name ? [change(image) ?? []].flat() : [image])),
          },
    ),
  };
}

function changeParameter(fleet: AuditInventory, region: number, target: AuditSource, value?: string): AuditInventory {
  const parameter = freebsdProfile.ssmParameterName(options.ssmPrefix, target.parsed);
  return {
    ...fleet,
    regions: fleet.regions.map((r, i) => {
      if (i !== region) return r;
      const ssm = { ...r.ssm };
      if (value === undefined) delete ssm[parameter];
      else ssm[parameter] = { imageId: value };
      return { ...r, ssm };
    }),
  };
}

/** One drift of each kind, applied to one image of one region, with the finding it must yield. */
const DRIFTS: Record<Exclude<FindingKind, 'copy-not-available'>, Drift> = {
  'missing-copy': (fleet, region, target) =>
    region === 0
      ? changeImage(fleet, region, target, (i) => ({ ...i, public: false }))
      : changeImage(fleet, region, target, () => undefined),
  'private-image': (fleet, region, target) => changeImage(fleet, region, target, (i) => ({ ...i, public: false })),
  'private-snapshot': (fleet, region, target) =>
    changeImage(fleet, region, target, (i) => ({ ...i, publicSnapshotIds: [] })),
  'missing-tags': (fleet, region, target) =>
    changeImage(fleet, region, target, (i) => ({ ...i, tags: { ...i.tags, [TAG.series]: 'something else' } })),
  'missing-deprecation': (fleet, region, target) =>
    changeImage(fleet, region, target, (i) => ({ ...i, deprecationTime: undefined })),
  'missing-parameter': (fleet, region, target) => changeParameter(fleet, region, target),
  'stale-parameter': (fleet, region, target) => changeParameter(fleet, region, target, 'ami-0000000000000dead'),
  'duplicate-copy': (fleet, region, target) => ({
    ...fleet,
    regions: fleet.regions.map((r, i) =>
      i !== region
        ? r
        : {
            ...r,
            images: [
              ...r.images,
              {
                ...publishedImage(target, 'elsewhere'),
                name: `${target.name} copy`,
                tags: { [TAG.sourceImage]: target.imageId },
              },
            ],
          },
    ),
  }),
};

describe('planAudit', () => {
  test('a fleet published correctly has no findings', () => {
    fc.assert(
      fc.property(fleets, (sources) => {
        const plan = planAudit(publishedFleet(sources), config, NOW);
        expect(plan.regions.flatMap((r) => r.findings)).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  test('each single drift yields exactly its finding, in its region, for its build', () => {
    const kinds = Object.keys(DRIFTS) as (keyof typeof DRIFTS)[];
    fc.assert(
      fc.property(fleets, fc.constantFrom(...kinds), fc.nat(), fc.nat(), (sources, kind, regionPick, buildPick) => {
        const audited = selectAuditedBuilds(sources, config, NOW).sources;
        const needsSnapshotBuild = kind === 'missing-deprecation';
        const candidates = audited.filter((s) => !needsSnapshotBuild || s.parsed.kind === 'snapshot');
        fc.pre(candidates.length > 0);
        // The build region's image is the source itself: it cannot be missing, only not public.
        const region = kind === 'missing-copy' ? 1 + (regionPick % (REGIONS.length - 1)) : regionPick % REGIONS.length;
        const target = candidates[buildPick % candidates.length]!;

        const plan = planAudit(DRIFTS[kind](publishedFleet(sources), region, target), config, NOW);

        const findings = plan.regions.flatMap((r) => r.findings);
        expect(findings.map((f) => [f.kind, f.region, f.sourceImageId])).toEqual([
          [kind, REGIONS[region], target.imageId],
        ]);
        expect(findings[0]!.reason.length).toBeGreaterThan(0);
        expect(Boolean(findings[0]!.repair) !== Boolean(findings[0]!.unrepairable)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('plans each repair through publish: a copy, or the one change publish would make', () => {
    const [x] = [build('FreeBSD 15.0-CURRENT-amd64-20261120 base UFS')];
    const fleet = DRIFTS['private-image'](DRIFTS['missing-copy'](publishedFleet([x!]), 2, x!), 1, x!);

    const findings = planAudit(fleet, config, NOW).regions.flatMap((r) => r.findings);

    expect(findings.map((f) => [f.region, f.repair])).toEqual([
      ['ap-southeast-2', { kind: 'copy', sourceImageId: x!.imageId }],
      [
        'eu-west-1',
        {
          kind: 'change',
          action: {
            kind: 'launch-permission',
            imageId: expect.stringMatching(/^ami-/),
            reason: 'launch permission for all is missing',
          },
        },
      ],
    ]);
  });

  test('a failed copy is copied again; a pending one is left to finish, unrepaired', () => {
    const x = build('FreeBSD 15.0-CURRENT-amd64-20261120 base UFS');
    const failed = changeImage(publishedFleet([x]), 1, x, (i) => ({ ...i, state: 'failed' }));
    const pending = changeImage(publishedFleet([x]), 1, x, (i) => ({ ...i, state: 'pending' }));

    const [onFailed] = planAudit(failed, config, NOW).regions.flatMap((r) => r.findings);
    const [onPending] = planAudit(pending, config, NOW).regions.flatMap((r) => r.findings);

    expect(onFailed).toMatchObject({ kind: 'copy-not-available', repair: { kind: 'recopy' } });
    expect(onPending).toMatchObject({
      kind: 'copy-not-available',
      unrepairable: expect.stringContaining('in progress'),
    });
    expect(onPending!.repair).toBeUndefined();
  });

  test('respects snapshot block public access: a private snapshot there is reported with why, not repaired', () => {
    const x = build('FreeBSD 15.0-CURRENT-amd64-20261120 base UFS');
    const fleet = DRIFTS['private-snapshot'](publishedFleet([x]), 1, x);
    const blocked = {
      ...fleet,
      regions: fleet.regions.map((r) => ({ ...r, snapshotSharing: 'block-new-sharing' as const })),
    };

    const findings = planAudit(blocked, config, NOW).regions.flatMap((r) => r.findings);

    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'private-snapshot', region: 'eu-west-1' });
    expect(findings[0]!.unrepairable).toContain('block-new-sharing');
    expect(findings[0]!.repair).toBeUndefined();
  });

  test('an encrypted copy cannot be made public: reported, not repaired', () => {
    const x = build('FreeBSD 15.0-CURRENT-amd64-20261120 base UFS');
    const fleet = changeImage(publishedFleet([x]), 1, x, (i) => ({ ...i, public: false, encrypted: true }));

    const findings = planAudit(fleet, config, NOW).regions.flatMap((r) => r.findings);

    expect(findings.map((f) => [f.kind, f.unrepairable])).toEqual([
      ['private-image', 'the image is encrypted, so it cannot be made public'],
    ]);
  });
});

describe('selectAuditedBuilds', () => {
  test('keeps the newest published build of each line, supported releases and pre-releases whose release is not out', () => {
    const old = build('FreeBSD 15.0-CURRENT-amd64-20261113 base UFS');
    const newest = build('FreeBSD 15.0-CURRENT-amd64-20261120 base UFS');
    const unpublished = build('FreeBSD 15.0-CURRENT-amd64-20261127 base UFS', false);
    const olderVersion = build('FreeBSD 14.2-STABLE-amd64-20261120 base UFS');
    const newerVersion = build('FreeBSD 14.3-STABLE-amd64-20261113 base UFS');
    const supported = build('FreeBSD 14.3-RELEASE-amd64 base UFS');
    const endOfLife = build('FreeBSD 13.4-RELEASE-amd64 base UFS');
    const beta = build('FreeBSD 14.3-BETA2-amd64 base UFS');
    const rc = build('FreeBSD 15.1-RC1-amd64 base UFS');
    const earlierRc = build('FreeBSD 15.1-BETA3-amd64 base UFS');

    const selection = selectAuditedBuilds(
      [old, newest, unpublished, olderVersion, newerVersion, supported, endOfLife, beta, rc, earlierRc],
      config,
      NOW,
    );

    expect(selection.builds.map((b) => b.name).sort()).toEqual(
      [newest, newerVersion, supported, rc].map((b) => b.name).sort(),
    );
    const why = Object.fromEntries(selection.skipped.map((s) => [s.name, s.reason]));
    expect(why[unpublished.name]).toBe('not published yet: publish takes it first');
    expect(why[endOfLife.name]).toBe('reached its end of life on 2026-06-30');
    expect(why[beta.name]).toBe('its release is out');
    expect(why[old.name]).toBe('a newer build of its line exists');
    expect(selection.builds.find((b) => b.name === supported.name)!.reason).toBe(
      'release 14.3 supported with no end-of-life date',
    );
  });

  test('leaves out series the configuration does not manage', () => {
    const narrow = parseConfig({ buildRegion: BUILD_REGION, series: { arches: ['arm64'] } });
    const amd64 = build('FreeBSD 15.0-CURRENT-amd64-20261120 base UFS');

    const selection = selectAuditedBuilds([amd64], narrow, NOW);

    expect(selection.builds).toEqual([]);
    expect(selection.skipped[0]!.reason).toContain('architecture amd64');
  });
});

describe('audit reports', () => {
  const finding = (kind: FindingKind, outcome: ReportedFinding['outcome'], region = 'eu-west-1'): ReportedFinding => ({
    kind,
    region,
    series: '15.0-CURRENT/amd64/base/ufs',
    name: 'FreeBSD 15.0-CURRENT-amd64-20261120 base UFS',
    sourceImageId: 'ami-00000000000000001',
    imageIds: [],
    reason: 'r',
    outcome,
  });

  test('a finding gone at the second look was repaired; one still there failed with the second look’s cause', () => {
    const first = [
      finding('private-image', 'repaired'),
      finding('missing-tags', 'failed'),
      finding('duplicate-copy', 'not-repairable'),
    ];
    const remaining = [
      { ...finding('missing-tags', 'failed'), cause: 'AccessDenied' },
      finding('missing-parameter', 'failed'),
    ];

    const settled = settleFindings(first, remaining);

    expect(settled.map((f) => [f.kind, f.outcome, f.cause])).toEqual([
      ['private-image', 'repaired', undefined],
      ['missing-tags', 'failed', 'AccessDenied'],
      ['duplicate-copy', 'not-repairable', undefined],
      ['missing-parameter', 'failed', undefined],
    ]);
  });

  test('the run fails on failed regions and, when repairing, on findings left; without repair only on failed regions', () => {
    const report = regionReport('eu-west-1', [
      finding('private-image', 'repaired'),
      finding('duplicate-copy', 'not-repairable'),
    ]);
    const failed = { region: 'us-west-2', status: 'failed' as const, error: 'boom' };

    const repairing = summarizeAudit({ repair: true, builds: 1, outcomes: [report, failed] });
    const reporting = summarizeAudit({ repair: false, builds: 1, outcomes: [report] });

    expect(report).toMatchObject({ status: 'findings', found: 2, repaired: 1, unrepaired: 1 });
    expect(repairing).toMatchObject({
      found: 2,
      repaired: 1,
      unrepaired: 1,
      failedRegions: ['us-west-2'],
      failedCount: 2,
    });
    expect(repairing.findings[0]!.kind).toBe('duplicate-copy');
    expect(reporting.failedCount).toBe(0);
  });
});
