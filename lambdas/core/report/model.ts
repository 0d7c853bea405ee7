import { type BootPoint, detectRegression, type RegressionPolicy } from '../boot/regression';
import { type BootHistoryRow, toBootPoint } from '../boot/result';
import { DAY_MS } from '../time';

/** One boot of a build on an instance type, as the page shows it. */
export interface ReportBoot {
  readonly seriesKey: string;
  /** Monday of the build's week, `YYYY-MM-DD`. */
  readonly week: string;
  readonly buildDate: string;
  readonly instanceType: string;
  /** Flavour and file system, e.g. `base/ufs`. */
  readonly variant: string;
  /** The plot's line: instance type and variant. */
  readonly line: string;
  readonly imageId: string;
  readonly revision?: string;
  readonly status: BootHistoryRow['status'];
  readonly reason: string;
  readonly bootSeconds?: number;
  /** ec2-boot-bench's four intervals, in seconds; undefined where a moment was never observed. */
  readonly runInstancesSeconds?: number;
  readonly pendingToRunningSeconds?: number;
  readonly runningToClosedSeconds?: number;
  readonly closedToOpenSeconds?: number;
  /** The regression alert naming the revision range, when this boot regressed against its baseline. */
  readonly regression?: string;
}

/** One plot: a branch (version and branch, e.g. `15.0-CURRENT`) on one architecture. */
export interface ReportPanel {
  readonly id: string;
  readonly branch: string;
  readonly arch: string;
  /** Oldest build first. */
  readonly boots: readonly ReportBoot[];
}

/** Everything the boot-performance page shows. */
export interface BootReportModel {
  readonly title: string;
  readonly generatedAt: string;
  readonly panels: readonly ReportPanel[];
  /** Monday of the newest build's week, when there is any boot. */
  readonly latestWeek?: string;
  /** Failed and timed-out boots of the latest week, with the reason (the console verdict where it decided). */
  readonly latestFailures: readonly ReportBoot[];
  readonly bootCount: number;
  readonly regressionCount: number;
}

/** Monday of the week of an ISO date. */
export function weekOf(isoDate: string): string {
  const at = Date.parse(`${isoDate}T00:00:00Z`);
  const sinceMonday = (new Date(at).getUTCDay() + 6) % 7;
  return new Date(at - sinceMonday * DAY_MS).toISOString().slice(0, 10);
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function splitSeries(seriesKey: string): { branch: string; arch: string; variant: string } {
  const [branch = seriesKey, arch = 'unknown', ...rest] = seriesKey.split('/');
  return { branch, arch, variant: rest.join('/') || '-' };
}

const byDate = <T extends { buildDate: string }>(a: T, b: T) =>
  a.buildDate < b.buildDate ? -1 : a.buildDate > b.buildDate ? 1 : 0;

/**
 * The page's model from the boot history: one panel per branch and architecture, each boot with its intervals and,
 * when it regressed against the previous `policy.weeks` weeks of its series and type, the alert with its revision
 * range; the failures of the newest week. Pure: the rows, the policy and the time of generation are all it reads.
 */
export function bootReportModel(
  rows: readonly BootHistoryRow[],
  policy: RegressionPolicy,
  options: { readonly generatedAt: Date; readonly title?: string },
): BootReportModel {
  const pointsByLine = new Map<string, BootPoint[]>();
  for (const row of rows) {
    const point = toBootPoint(row);
    if (!point) continue;
    const key = `${row.seriesKey} ${row.instanceType}`;
    pointsByLine.set(key, [...(pointsByLine.get(key) ?? []), point]);
  }
  const boots = [...rows].sort(byDate).map((row): ReportBoot => {
    const { variant } = splitSeries(row.seriesKey);
    const point = toBootPoint(row);
    const verdict = point
      ? detectRegression(point, pointsByLine.get(`${row.seriesKey} ${row.instanceType}`) ?? [], policy)
      : undefined;
    const m = row.median;
    return {
      seriesKey: row.seriesKey,
      week: weekOf(row.buildDate),
      buildDate: row.buildDate,
      instanceType: row.instanceType,
      variant,
      line: `${row.instanceType} ${variant}`,
      imageId: row.imageId,
      ...(row.revision !== undefined && { revision: row.revision }),
      status: row.status,
      reason: row.reason,
      ...(m.bootSeconds !== undefined && row.status === 'passed' && { bootSeconds: m.bootSeconds }),
      ...(m.runInstancesSeconds !== undefined && { runInstancesSeconds: m.runInstancesSeconds }),
      ...(m.pendingToRunningSeconds !== undefined && { pendingToRunningSeconds: m.pendingToRunningSeconds }),
      ...(m.runningToClosedSeconds !== undefined && { runningToClosedSeconds: m.runningToClosedSeconds }),
      ...(m.closedToOpenSeconds !== undefined && { closedToOpenSeconds: m.closedToOpenSeconds }),
      ...(verdict?.regressed && verdict.message !== undefined && { regression: verdict.message }),
    };
  });
  const panels = new Map<string, { branch: string; arch: string; boots: ReportBoot[] }>();
  for (const boot of boots) {
    const { branch, arch } = splitSeries(boot.seriesKey);
    const key = `${branch} ${arch}`;
    const panel = panels.get(key) ?? { branch, arch, boots: [] };
    panel.boots.push(boot);
    panels.set(key, panel);
  }
  const latestWeek = boots.length
    ? boots
        .map((b) => b.week)
        .sort()
        .at(-1)
    : undefined;
  return {
    title: options.title ?? 'Boot times of the weekly builds',
    generatedAt: options.generatedAt.toISOString(),
    // Newest major version first, then branch and architecture by name.
    panels: [...panels.entries()]
      .sort(([a], [b]) => b.localeCompare(a, 'en', { numeric: true }))
      .map(([key, panel]) => ({ id: slug(key), ...panel })),
    ...(latestWeek !== undefined && { latestWeek }),
    latestFailures: boots.filter((b) => b.week === latestWeek && (b.status === 'failed' || b.status === 'timeout')),
    bootCount: boots.length,
    regressionCount: boots.filter((b) => b.regression !== undefined).length,
  };
}
