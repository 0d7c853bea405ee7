import { type PipelineConfigInput, parseConfig } from '../../lambdas/core/config';
import { freebsdProfile } from '../../lambdas/core/naming/freebsd';
import { isoWeek, planRepro, type ReproImage } from '../../lambdas/core/repro/plan';
import { reproRegressions, type ReproHistoryRow } from '../../lambdas/core/repro/history';
import { TAG } from '../../lambdas/core/tags';

const NOW = new Date('2026-11-28T12:00:00Z');

function builder(version: string, arch: string, date: string, revision: string, id: string): ReproImage {
  const [major] = version.split('-');
  const branch = version.endsWith('CURRENT') ? 'main' : `stable/${major!.split('.')[0]}`;
  return {
    imageId: id,
    region: 'us-east-1',
    name: `FreeBSD ${version}-${arch}-${date} builder UFS`,
    description: `FreeBSD/${arch} ${branch}@${revision}`,
    rootSnapshotId: `snap-${id.slice(4)}`,
    rootVolumeGiB: 10,
  };
}

const fleet = (): ReproImage[] => [
  builder('15.0-CURRENT', 'arm64', '20261119', 'aaaaaaa1', 'ami-0000000000000001'),
  builder('15.0-CURRENT', 'arm64', '20261126', 'bbbbbbb2', 'ami-0000000000000002'),
  builder('15.0-CURRENT', 'amd64', '20261126', 'bbbbbbb2', 'ami-0000000000000003'),
  builder('14.3-STABLE', 'arm64', '20261126', 'ccccccc3', 'ami-0000000000000004'),
  builder('13.5-STABLE', 'arm64', '20261126', 'ddddddd4', 'ami-0000000000000005'),
  {
    ...builder('15.0-CURRENT', 'arm64', '20261126', 'bbbbbbb2', 'ami-0000000000000006'),
    name: 'FreeBSD 15.0-CURRENT-arm64-20261126 base UFS',
  },
];

const plan = (config: PipelineConfigInput = {}, extra: Partial<Parameters<typeof planRepro>[0]> = {}) =>
  planRepro({ images: fleet(), config: parseConfig(config), profile: freebsdProfile, now: NOW, ...extra });

describe('the reproducibility plan', () => {
  test('by default checks the newest builder build of each line on arm64, at most three, each with a reason', () => {
    // Act
    const result = plan();

    // Assess
    expect(result.week).toBe('2026-W48');
    expect(result.checks.map((c) => [c.imageId, c.revision, c.instanceType])).toEqual([
      ['ami-0000000000000005', 'stable/13@ddddddd4', 'c7g.4xlarge'],
      ['ami-0000000000000004', 'stable/14@ccccccc3', 'c7g.4xlarge'],
      ['ami-0000000000000002', 'main@bbbbbbb2', 'c7g.4xlarge'],
    ]);
    for (const check of result.checks) expect(check.reason).toMatch(/^newest builder build of \d+-(STABLE|CURRENT)/);
    expect(result.checks[2]!.reportPrefix).toBe('repro/2026-W48/ami-0000000000000002/');
    const reasons = Object.fromEntries(result.skipped.map((s) => [s.imageId, s.reason]));
    expect(reasons).toEqual({
      'ami-0000000000000001': 'a newer build of its line',
      'ami-0000000000000003': 'amd64 is not in repro.arches',
      'ami-0000000000000006': 'a base image carries no release tooling',
    });
  });

  test('the weekly caps refuse checks past them, counting what already ran this week, and say why', () => {
    const result = plan(
      { repro: { maxChecksPerWeek: 3, maxInstanceHoursPerWeek: 20 } },
      { alreadyThisWeek: [{ key: '2026-W48/ami-0000000000000005', instanceHours: 6.5 }] },
    );

    // 6.5 h used, 6.5 h per check: a second new check would reach 19.5 h, a third 26 h.
    expect(result.checks.map((c) => c.imageId)).toEqual(['ami-0000000000000004', 'ami-0000000000000002']);
    const reasons = Object.fromEntries(result.skipped.map((s) => [s.imageId, s.reason]));
    expect(reasons['ami-0000000000000005']).toBe('already checked in 2026-W48');
    const refusedByCount = plan({ repro: { maxChecksPerWeek: 1 } }).skipped.filter((s) =>
      s.reason.startsWith('refused: repro.maxChecksPerWeek (1)'),
    );
    expect(refusedByCount).toHaveLength(2);
    const refusedByHours = plan({ repro: { maxInstanceHoursPerWeek: 10 } }).skipped.filter((s) =>
      s.reason.includes('would pass repro.maxInstanceHoursPerWeek (10)'),
    );
    expect(refusedByHours).toHaveLength(2);
  });

  test('the cost of the plan is its instance-hours priced from the dated table', () => {
    const result = plan();

    expect(result.cost.instanceHours).toBe(19.5);
    // 3 × 6.5 h of c7g.4xlarge at $0.58, plus 140 GiB of gp3 for 6.5 h each.
    expect(result.cost.estimatedUsd).toBeCloseTo(3 * (6.5 * 0.58 + (140 * 0.08 * 6.5) / 730), 2);
    expect(result.cost.priceSource).toMatch(/aws\.amazon\.com\/ec2\/pricing\/on-demand.*2025/);
    expect(result.cost.lines).toHaveLength(3);
  });

  test('an operator may name any builder image and type of its architecture; other names are refused', () => {
    const named = plan(
      {},
      {
        imageIds: ['ami-0000000000000003', 'ami-0000000000000006', 'ami-00000000000000ff'],
        instanceType: 'c7i.8xlarge',
      },
    );

    expect(named.checks.map((c) => [c.imageId, c.instanceType, c.reason])).toEqual([
      ['ami-0000000000000003', 'c7i.8xlarge', 'named by the operator'],
    ]);
    expect(named.skipped.map((s) => s.reason)).toEqual([
      'a base image carries no release tooling',
      'not found among the builder images of the build region',
    ]);
    const wrongArch = plan({}, { imageIds: ['ami-0000000000000002'], instanceType: 'c7i.8xlarge' });
    expect(wrongArch.skipped[0]!.reason).toBe('c7i.8xlarge cannot run arm64');
  });

  test('the revision comes from the git tags when the description names none; without either, no check', () => {
    const [image] = fleet();
    const tagged = {
      ...image!,
      description: 'custom',
      tags: { [TAG.gitBranch]: 'releng/14.3', [TAG.gitRevision]: 'abcdef0' },
    };
    const bare = { ...image!, imageId: 'ami-00000000000000aa', description: undefined };

    const fromTags = planRepro({ images: [tagged], config: parseConfig({}), profile: freebsdProfile, now: NOW });
    const none = planRepro({ images: [bare], config: parseConfig({}), profile: freebsdProfile, now: NOW });

    expect(fromTags.checks[0]!.revision).toBe('releng/14.3@abcdef0');
    expect(none.skipped[0]!.reason).toBe('no revision: neither the description nor the git tags name one');
  });

  test('ISO weeks: the Thursday rule at year ends', () => {
    expect(isoWeek(new Date('2026-01-01T00:00:00Z'))).toBe('2026-W01');
    expect(isoWeek(new Date('2027-01-01T00:00:00Z'))).toBe('2026-W53');
    expect(isoWeek(new Date('2024-12-30T00:00:00Z'))).toBe('2025-W01');
  });
});

describe('reproducibility regressions', () => {
  const row = (week: string, status: ReproHistoryRow['status'], revision: string): ReproHistoryRow => ({
    lineKey: '15-CURRENT/arm64/builder/ufs',
    week,
    imageId: `ami-${week}`,
    imageName: 'x',
    seriesKey: '15.0-CURRENT/arm64/builder/ufs',
    revision,
    instanceType: 'c7g.4xlarge',
    status,
    differingFiles: status === 'differs' ? 2 : 0,
    topPaths: [],
    reason: '',
    reportPrefix: `repro/${week}/x/`,
    instanceHours: 6.5,
    runId: 'r',
    finishedAt: `${week}T`,
  });

  test('name the last reproducible and the first differing revision, across builds that could not be judged', () => {
    const rows = [
      row('2026-W45', 'reproducible', 'main@1111111'),
      row('2026-W46', 'build-failed', 'main@2222222'),
      row('2026-W47', 'differs', 'main@3333333'),
      row('2026-W48', 'differs', 'main@4444444'),
    ];

    const [regression, ...rest] = reproRegressions(rows, '2026-W48');

    expect(rest).toEqual([]);
    expect(regression!.lastReproducible.revision).toBe('main@1111111');
    expect(regression!.firstDiffering.revision).toBe('main@3333333');
    expect(reproRegressions(rows.slice(0, 1), '2026-W45')).toEqual([]);
  });
});
