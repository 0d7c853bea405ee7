import fc from 'fast-check';
import { renderDigest } from '../../lambdas/core/digest';

const publish = {
  images: ['FreeBSD 15.0-CURRENT-amd64-20261126 base UFS', 'FreeBSD 15.0-CURRENT-arm64-20261126 base UFS'],
  regions: 5,
  copiesMade: 8,
  regionsFailed: [],
  announced: true,
  failures: [],
};
const bootTest = {
  runs: 6,
  passed: 5,
  failed: 1,
  skipped: 0,
  regressions: ['15.0-CURRENT amd64 base/ufs on c7i.large: 11.2 s -> 22.9 s between main@a1b2c3d and main@e4f5a6b'],
  notable: [],
  failures: [{ id: 'ami-1/c6g.large', region: 'us-east-1', error: 'kernel panic on console', code: 'panic' }],
};
const prune = {
  dryRun: false,
  imagesDeregistered: 40,
  snapshotsDeleted: 41,
  reclaimedGiB: 246,
  remainingOverCap: 0,
  unmanagedFound: 2,
  keptByReason: { 'newest 4 builds of the series': 24, 'referenced by SSM': 6 },
  regionsRefused: [],
  retiredLines: [
    {
      line: '12-STABLE',
      endOfLife: '2024-12-31',
      images: 8,
      snapshots: 9,
      gib: 48.04,
      imagesDeleted: 6,
      keptByReason: { 'ssm-referenced': 1, 'min-age': 1 },
    },
  ],
  failures: [],
};

describe('weekly digest', () => {
  test('tells each part of the week in one mail and flags what needs attention', () => {
    const digest = renderDigest({
      weekEnding: '2026-11-28',
      subjectPrefix: '[ami-pipeline]',
      publish,
      bootTest,
      prune,
    });

    expect(digest.subject).toBe(
      '[ami-pipeline] 2026-11-28: 2 published, 5/6 boots ok, 1 regression, 40 pruned, 1 failure',
    );
    expect(digest.text).toContain(
      '2 new images published to 5 regions (8 copies made), announced on the mailing list.',
    );
    expect(digest.text).toContain('    FreeBSD 15.0-CURRENT-arm64-20261126 base UFS');
    expect(digest.text).toContain('  Regressions:\n    15.0-CURRENT amd64 base/ufs on c7i.large: 11.2 s -> 22.9 s');
    expect(digest.text).toContain('    us-east-1 ami-1/c6g.large: panic: kernel panic on console');
    expect(digest.text).toContain('40 images were deregistered and 41 snapshots deleted, reclaiming 246 GiB.');
    expect(digest.text).toContain('    6 referenced by SSM');
    expect(digest.text).toContain(
      '  Retired lines (past their end of life):\n    12-STABLE (end of life 2024-12-31): held 8 images, 9 snapshots, 48 GiB; 6 were deregistered, kept: 1 min-age, 1 ssm-referenced',
    );
    expect(digest.needsAttention).toBe(true);
  });

  test('says plainly when pruning was a dry-run', () => {
    const digest = renderDigest({ weekEnding: '2026-11-28', subjectPrefix: '', prune: { ...prune, dryRun: true } });

    expect(digest.text).toContain('Prune (dry-run: nothing was deleted)');
    expect(digest.text).toContain('40 images would be deregistered');
    expect(digest.subject).toContain('40 pruned (dry-run)');
    expect(digest.needsAttention).toBe(false);
  });

  test('keeps every subject under 100 characters and lists at most 25 failures per part', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.nat({ max: 199 }), (prefix, count) => {
        const failures = Array.from({ length: count }, (_, i) => ({
          id: `ami-${i}`,
          region: 'eu-west-1',
          error: 'x',
        }));
        const digest = renderDigest({
          weekEnding: '2026-11-28',
          subjectPrefix: prefix,
          publish: { ...publish, failures },
          bootTest,
          prune,
        });
        expect(digest.subject.length).toBeLessThan(100);
        expect(digest.text.split('\n').filter((l) => l.startsWith('    eu-west-1')).length).toBeLessThanOrEqual(25);
      }),
    );
  });
});
