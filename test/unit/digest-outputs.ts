import type { BootHistoryRow } from '../../lambdas/core/boot/result';
import { EMPTY_TOTALS } from '../../lambdas/prune/schemas';

/** Outputs shaped as the publish and prune state machines leave them (see lib/*-workflow.ts), for the digest tests. */
export const ACCOUNT = '123456789012';

export const PUBLISHED_NAMES = [
  'FreeBSD 15.0-CURRENT-amd64-20261126 base UFS',
  'FreeBSD 15.0-CURRENT-arm64-20261126 base ZFS',
] as const;

/**
 * Output of a publish run that got two images into two regions and lost a third region: Discover's result, the region
 * Map's summaries, and the Announce step's run summary read from the ledger.
 */
export function publishRunOutput() {
  const [first, second] = PUBLISHED_NAMES;
  return {
    buildRegion: 'us-east-1',
    regions: ['eu-west-1', 'ap-south-1', 'sa-east-1'],
    images: ['ami-0aaa00000000000a1', 'ami-0aaa00000000000a2'],
    fresh: ['ami-0aaa00000000000a1', 'ami-0aaa00000000000a2'],
    count: 2,
    pollSeconds: 60,
    recheck: false,
    complete: 40,
    deferred: 0,
    untracked: 0,
    skipped: [],
    gaveUp: [],
    gaveUpCount: 0,
    selection: { regions: ['eu-west-1', 'ap-south-1', 'sa-east-1'] },
    outcomes: [
      { region: 'eu-west-1', status: 'published', pairs: 2, published: 2, failed: 0, changes: 6 },
      { region: 'ap-south-1', status: 'partial', pairs: 2, published: 1, failed: 1, changes: 3 },
      { region: 'sa-east-1', status: 'failed', error: 'UnauthorizedOperation: region disabled' },
    ],
    summary: {
      messages: 1,
      published: [
        { name: first, regions: 2, of: 3 },
        { name: second, regions: 1, of: 3 },
      ],
      pairsPublished: 3,
      failedPairs: 3,
      failedRegions: ['ap-south-1', 'sa-east-1'],
      failures: [
        { id: second, region: 'ap-south-1', error: 'copy failed: snapshot quota' },
        { id: first, region: 'sa-east-1', error: 'UnauthorizedOperation: region disabled' },
        { id: second, region: 'sa-east-1', error: 'UnauthorizedOperation: region disabled' },
      ],
      failedCount: 3,
    },
  };
}

/** Output of a publish run of the first release (image ids per region), which the digest still reads. */
export function firstReleasePublishOutput() {
  return {
    buildRegion: 'us-east-1',
    regions: ['eu-west-1', 'ap-south-1', 'sa-east-1'],
    images: ['ami-0aaa00000000000a1', 'ami-0aaa00000000000a2'],
    count: 2,
    pollSeconds: 60,
    skipped: [],
    selection: { regions: ['eu-west-1', 'ap-south-1', 'sa-east-1'] },
    outcomes: [
      {
        region: 'eu-west-1',
        status: 'published',
        published: {
          'ami-0aaa00000000000a1': 'ami-0bbb00000000000b1',
          'ami-0aaa00000000000a2': 'ami-0bbb00000000000b2',
        },
        failed: [],
        changes: 6,
      },
      {
        region: 'ap-south-1',
        status: 'partial',
        published: { 'ami-0aaa00000000000a1': 'ami-0ccc00000000000c1' },
        failed: [
          { id: 'ami-0aaa00000000000a2', region: 'ap-south-1', error: 'copy failed: snapshot quota', code: 'Quota' },
        ],
        changes: 3,
      },
      { region: 'sa-east-1', status: 'failed', error: 'UnauthorizedOperation: region disabled' },
    ],
    summary: { failedCount: 2, failedRegions: ['sa-east-1'] },
  };
}

/** Output of the NothingToPublish branch: Discover's result only. */
export function nothingToPublishOutput() {
  return {
    buildRegion: 'us-east-1',
    regions: ['eu-west-1'],
    images: [],
    fresh: [],
    count: 0,
    pollSeconds: 60,
    recheck: false,
    complete: 48,
    deferred: 0,
    untracked: 0,
    skipped: [],
    gaveUp: [],
    gaveUpCount: 0,
  };
}

/** The final state of a run that found nothing new but gave up pairs older than the give-up age. */
export function gaveUpOutput() {
  return {
    ...nothingToPublishOutput(),
    gaveUp: [
      {
        id: '42 images (FreeBSD 15.0-CURRENT-amd64-20261029 base UFS and others)',
        region: 'ap-south-1',
        error: 'not published within 28 days; last error: ResourceLimitExceeded',
        code: 'GaveUp',
      },
    ],
    gaveUpCount: 42,
  };
}

function regionReport(region: string, tripped: boolean) {
  return {
    region,
    imagesDeregistered: 3,
    imagesSoftDeleted: 0,
    snapshotsDeleted: 3,
    gibReclaimed: 15,
    fullBytesReclaimed: 0,
    keptByReason: { 'newest-builds': 4, release: 2 },
    unmanagedFound: 1,
    remainingOverCap: 0,
    breaker: { managedImages: 10, plannedDeletions: 3, share: 0.3, limit: 0.5, tripped, overridden: false },
    snapshotsInUse: [],
    failures: [],
  };
}

/** Output of a prune run; executed, it deleted in eu-west-1 and one deletion failed; the breaker held ap-south-1. */
export function pruneRunOutput(execute: boolean) {
  const items = ['eu-west-1', 'ap-south-1'].map((region) => ({
    region,
    capBoundary: null,
    overrideBreaker: false,
    batch: 0,
    complete: false,
    totals: EMPTY_TOTALS,
  }));
  const plan = {
    execute,
    items,
    failedRegions: [],
    report: {
      now: '2026-11-22T06:00:00.000Z',
      dryRun: true,
      regions: [regionReport('ap-south-1', true), regionReport('eu-west-1', false)],
      retiredLines: [
        {
          line: '12-STABLE',
          endOfLife: '2024-12-31',
          images: 8,
          snapshots: 8,
          gib: 40,
          imagesDeleted: 6,
          keptByReason: { 'ssm-referenced': 2 },
        },
      ],
      totals: { imagesDeregistered: 6, snapshotsDeleted: 6, gibReclaimed: 30, remainingOverCap: 2, failures: 0 },
    },
  };
  const base = {
    defaults: { regions: [] },
    input: { regions: [] },
    selection: { regions: ['eu-west-1', 'ap-south-1'] },
    plan,
  };
  if (!execute)
    return {
      ...base,
      summary: {
        failedCount: 0,
        summary: {
          execute: false,
          imagesDeregistered: 0,
          snapshotsDeleted: 0,
          gibReclaimed: 0,
          failedRegions: [],
          failedCount: 0,
        },
      },
    };
  const failure = {
    id: 'snap-0123456789abcdef0',
    region: 'eu-west-1',
    error: 'DeleteSnapshot: throttled',
    code: 'Throttling',
  };
  return {
    ...base,
    results: [
      {
        region: 'eu-west-1',
        capBoundary: null,
        overrideBreaker: false,
        batch: 1,
        complete: true,
        totals: {
          ...EMPTY_TOTALS,
          imagesDeregistered: 3,
          snapshotsDeleted: 2,
          gibReclaimed: 10,
          failureCount: 1,
          failures: [failure],
        },
      },
      {
        region: 'ap-south-1',
        capBoundary: null,
        overrideBreaker: false,
        batch: 1,
        complete: true,
        totals: EMPTY_TOTALS,
      },
    ],
    summary: {
      failedCount: 1,
      summary: {
        execute: true,
        imagesDeregistered: 3,
        snapshotsDeleted: 2,
        gibReclaimed: 10,
        failedRegions: [],
        failedCount: 1,
      },
    },
  };
}

/** A history row of `15.0-CURRENT/amd64/base/ufs` (or `seriesKey`) on `instanceType`, tested the day of its build. */
export function historyRow(
  buildDate: string,
  bootSeconds: number | undefined,
  overrides: Partial<BootHistoryRow> = {},
): BootHistoryRow {
  return {
    seriesKey: '15.0-CURRENT/amd64/base/ufs',
    instanceType: 'c7i.large',
    buildDate,
    imageId: `ami-0${buildDate.replaceAll('-', '')}0000`,
    imageName: `FreeBSD 15.0-CURRENT-amd64-${buildDate.replaceAll('-', '')} base UFS`,
    region: 'us-east-1',
    revision: `main@${buildDate.replaceAll('-', '').slice(2)}a`,
    network: 'isolated',
    status: bootSeconds === undefined ? 'timeout' : 'passed',
    reason: bootSeconds === undefined ? 'port 22 never opened within 600 s' : 'median of 1 run',
    runs: 1,
    median: { runInstancesSeconds: 1.2, ...(bootSeconds === undefined ? {} : { bootSeconds }) },
    testedAt: `${buildDate}T09:00:00.000Z`,
    runId: `weekly-${buildDate}`,
    ...overrides,
  };
}

/** Eight weeks of steady ~11 s boots, then a 23 s boot in the reported week and a timeout on Graviton. */
export function bootHistory(): BootHistoryRow[] {
  const weekly = ['2026-10-01', '2026-10-08', '2026-10-15', '2026-10-22', '2026-10-29', '2026-11-05', '2026-11-12'];
  return [
    ...weekly.map((date, i) => historyRow(date, 11 + (i % 3) * 0.2)),
    historyRow('2026-11-19', 11.1),
    historyRow('2026-11-26', 22.9),
    historyRow('2026-11-26', undefined, { seriesKey: '15.0-CURRENT/arm64/base/ufs', instanceType: 'c7g.large' }),
  ];
}
