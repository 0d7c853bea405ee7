import { auditTable } from '../../bin/commands/audit';
import { type ReportedFinding, regionReport, summarizeAudit } from '../../lambdas/core/audit';
import { renderDigest } from '../../lambdas/core/digest';
import { auditSummaryFromExecutions, digestWindow, type ExecutionRecord } from '../../lambdas/core/digest-week';

const window = digestWindow(new Date('2026-11-29T18:00:00.000Z'));
const finding = (
  kind: ReportedFinding['kind'],
  outcome: ReportedFinding['outcome'],
  cause?: string,
): ReportedFinding => ({
  kind,
  region: 'eu-west-1',
  series: '15.0-CURRENT/amd64/base/ufs',
  name: 'FreeBSD 15.0-CURRENT-amd64-20261127 base UFS',
  sourceImageId: 'ami-00000000000000001',
  imageIds: ['ami-00000000000000002'],
  reason: 'launch permission for all is missing',
  outcome,
  ...(cause ? { cause } : {}),
});

function execution(name: string, start: string, status: string, state: unknown): ExecutionRecord {
  const text = JSON.stringify(state);
  return {
    executionArn: `arn:aws:states:us-east-1:123456789012:execution:audit:${name}`,
    name,
    status,
    startDate: start,
    ...(status === 'SUCCEEDED' ? { output: text } : { failedWithState: text }),
  };
}

const repairedRun = (() => {
  const report = regionReport('eu-west-1', [
    finding('private-image', 'repaired'),
    finding('duplicate-copy', 'not-repairable', 'the audit never deregisters'),
  ]);
  const summary = summarizeAudit({ repair: true, builds: 3, outcomes: [report] });
  return { input: { repair: true }, outcomes: [report], summary: { failedCount: summary.failedCount, summary } };
})();

describe('the audit part of the weekly digest', () => {
  test('reports the newest run: findings by kind, repairs, and what was left with why', () => {
    const early = execution('early', '2026-11-23T04:00:00Z', 'SUCCEEDED', {
      ...repairedRun,
      summary: { failedCount: 0, summary: { ...repairedRun.summary.summary, found: 9 } },
    });
    const latest = execution('weekly', '2026-11-29T04:00:00Z', 'FAILED', repairedRun);

    const part = auditSummaryFromExecutions([latest, early], window);
    const digest = renderDigest({ weekEnding: '2026-11-29', subjectPrefix: '[p]', audit: part.summary });

    expect(part.summary).toMatchObject({ runs: 2, found: 2, repaired: 1, unrepaired: 1 });
    expect(digest.subject).toBe('[p] 2026-11-29: 2 audit findings, 1 failure');
    expect(digest.needsAttention).toBe(true);
    expect(digest.text).toContain('  3 current builds checked in 1 region: 2 findings, 1 repaired, 1 left.');
    expect(digest.text).toContain('    1 private-image');
    expect(digest.text).toContain('    eu-west-1 FreeBSD 15.0-CURRENT-amd64-20261127 base UFS: private-image');
    expect(digest.text).toContain(
      'eu-west-1 FreeBSD 15.0-CURRENT-amd64-20261127 base UFS: duplicate-copy: launch permission for all is missing (not-repairable: the audit never deregisters)',
    );
  });

  test('a run that failed before its summary is a failure; a week without runs is said so', () => {
    const crashed = { ...execution('crashed', '2026-11-29T04:00:00Z', 'TIMED_OUT', {}), failedWithState: undefined };

    const part = auditSummaryFromExecutions([crashed], window);
    const none = auditSummaryFromExecutions([], window);

    expect(part.summary!.failures.map((f) => f.code)).toEqual(['TIMED_OUT']);
    expect(none.summary).toBeUndefined();
    expect(none.notes[0]).toMatch(/^No audit run finished between/);
  });
});

describe('ami-pipeline audit table', () => {
  test('one row per finding with region, series, kind, reason and whether it was repaired or why not', () => {
    const table = auditTable({ status: 'FAILED', summary: repairedRun.summary.summary, regions: repairedRun.outcomes });

    const lines = table.split('\n');
    expect(lines[0]).toBe('3 current build(s) in 1 region(s): 2 finding(s), 1 repaired, 1 left');
    expect(lines[2]).toMatch(/^REGION\s+SERIES\s+KIND\s+REASON\s+REPAIRED$/);
    expect(lines[4]).toMatch(
      /^eu-west-1\s+15\.0-CURRENT\/amd64\/base\/ufs\s+duplicate-copy\s+.*no: the audit never deregisters$/,
    );
    expect(lines[5]).toMatch(/private-image\s+launch permission for all is missing\s+yes$/);
  });
});
