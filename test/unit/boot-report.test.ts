import type { BootHistoryRow } from '../../lambdas/core/boot/result';
import { bootReportModel, renderBootReportPage, weekOf } from '../../lambdas/core/report';
import { DAY_MS } from '../../lambdas/core/time';

const POLICY = { weeks: 8, ratio: 1.25, absoluteSeconds: 2 };
const GENERATED = new Date('2026-11-30T08:00:00Z');

function dateBefore(days: number): string {
  return new Date(Date.parse('2026-11-26T00:00:00Z') - days * DAY_MS).toISOString().slice(0, 10);
}

function row(
  seriesKey: string,
  instanceType: string,
  weeksAgo: number,
  seconds: number,
  extra: Partial<BootHistoryRow> = {},
) {
  const buildDate = dateBefore(weeksAgo * 7);
  return {
    seriesKey,
    instanceType,
    buildDate,
    imageId: `ami-${seriesKey.length}${instanceType.length}${weeksAgo}`,
    imageName: `FreeBSD ${seriesKey}`,
    region: 'us-east-1',
    revision: `main@${(1000 + weeksAgo).toString(16)}abc`,
    network: 'isolated',
    status: 'passed',
    reason: 'port 22 open',
    runs: 1,
    median: {
      runInstancesSeconds: 0.4,
      pendingToRunningSeconds: 5,
      runningToClosedSeconds: seconds - 6,
      closedToOpenSeconds: 1,
      bootSeconds: seconds,
      runningToOpenSeconds: seconds - 5,
    },
    testedAt: `${buildDate}T12:00:00.000Z`,
    runId: 'run',
    ...extra,
  } satisfies BootHistoryRow;
}

/** Ten weeks of two series on two types; 15.0-CURRENT amd64 base/ufs doubles its boot time in the newest week. */
function history(): BootHistoryRow[] {
  const rows: BootHistoryRow[] = [];
  for (let weeksAgo = 9; weeksAgo >= 0; weeksAgo--) {
    rows.push(row('15.0-CURRENT/amd64/base/ufs', 'c7i.large', weeksAgo, weeksAgo === 0 ? 24 : 12));
    rows.push(row('15.0-CURRENT/amd64/small/zfs', 'c7i.large', weeksAgo, 14));
    rows.push(row('14.3-STABLE/arm64/base/ufs', 'c7g.large', weeksAgo, 10));
  }
  rows.push(
    row('14.3-STABLE/arm64/base/ufs', 'c8g.large', 0, 0, {
      status: 'failed',
      reason: 'run 1: kernel panic: page fault <while in kernel mode>',
      median: { runInstancesSeconds: 0.4 },
    }),
  );
  return rows;
}

describe('boot report model', () => {
  test('one panel per branch and architecture, regressions with their revision range, the latest week’s failures', () => {
    const model = bootReportModel(history(), POLICY, { generatedAt: GENERATED });

    expect(model.panels.map((p) => `${p.branch} ${p.arch}`)).toEqual(['15.0-CURRENT amd64', '14.3-STABLE arm64']);
    expect(new Set(model.panels[0]!.boots.map((b) => b.line))).toEqual(
      new Set(['c7i.large base/ufs', 'c7i.large small/zfs']),
    );
    expect(model.regressionCount).toBe(1);
    expect(model.panels[0]!.boots.find((b) => b.regression)).toMatchObject({
      buildDate: '2026-11-26',
      regression: expect.stringMatching(/7\.0 s -> 19\.0 s between main@3e9abc and main@3e8abc$/),
    });
    expect(model.latestWeek).toBe(weekOf('2026-11-26'));
    expect(model.latestFailures.map((f) => [f.instanceType, f.status, f.reason])).toEqual([
      ['c8g.large', 'failed', 'run 1: kernel panic: page fault <while in kernel mode>'],
    ]);
  });

  test('weeks start on Monday', () => {
    expect([weekOf('2026-11-26'), weekOf('2026-11-23'), weekOf('2026-11-22')]).toEqual([
      '2026-11-23',
      '2026-11-23',
      '2026-11-16',
    ]);
  });
});

describe('boot report page', () => {
  test('draws a plot per panel with a mark per weekly boot, rings the regressions and keeps everything inline', async () => {
    const model = bootReportModel(history(), POLICY, { generatedAt: GENERATED });

    const html = await renderBootReportPage(model);

    const charts = html.match(/<figure class="chart"[\s\S]*?<\/figure>/g) ?? [];
    expect(charts).toHaveLength(2);
    // Each mark group's own segment of the SVG, up to the next group: its paths are its marks.
    const points = (chart: string, mark: string) =>
      chart
        .split('<g class="mark-')
        .find((segment) => segment.startsWith(`symbol role-mark ${mark}_marks`))
        ?.match(/<path /g)?.length ?? 0;
    expect(points(charts[0]!, 'boots')).toBe(20);
    expect(points(charts[0]!, 'regressions')).toBe(1);
    expect(points(charts[1]!, 'boots')).toBe(10);
    expect(points(charts[1]!, 'regressions')).toBe(0);
    // Hovering a point shows its four intervals.
    expect(html).toContain(
      '<title>2026-11-26 c7i.large base/ufs main@3e8abc: boot 24.00 s; RunInstances 0.40 s; pending→running 5.00 s; running→port closed 18.00 s; port closed→open 1.00 s; REGRESSION ',
    );
    expect(html).toMatch(/<li>2026-11-26: 15\.0-CURRENT amd64 base\/ufs on c7i\.large: 7\.0 s -&#62; 19\.0 s between/);
    expect(html).toContain(
      '<td class="failed">failed</td><td>run 1: kernel panic: page fault &#60;while in kernel mode&#62;</td>',
    );
    expect(html).toMatch(
      /<td class="num">0\.40<\/td><td class="num">5\.00<\/td><td class="num">18\.00<\/td><td class="num">1\.00<\/td><td class="num">24\.00<\/td>/,
    );
    // Self-contained: nothing is loaded from anywhere, and the page forbids it.
    expect(html).not.toMatch(/<script|<link|<img|src=|url\(/);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
  });

  test('an empty history is a page that says so', async () => {
    const html = await renderBootReportPage(bootReportModel([], POLICY, { generatedAt: GENERATED }));

    expect(html).toContain('No boot has been recorded yet.');
    expect(html).not.toContain('<svg');
  });
});
