import type { ReproCheck } from './plan';
import type { ReproOutcome, ReproStatus } from './summary';

/** One check's result, as the history keeps it per line, week and image. */
export interface ReproHistoryRow {
  readonly lineKey: string;
  readonly week: string;
  readonly imageId: string;
  readonly imageName: string;
  readonly seriesKey: string;
  readonly revision: string;
  readonly buildDate?: string;
  readonly instanceType: string;
  readonly status: ReproStatus;
  readonly differingFiles: number;
  readonly topPaths: readonly string[];
  readonly reason: string;
  /** Where the outputs are in the report bucket: the instance's folder, or the check's prefix when none launched. */
  readonly reportPrefix: string;
  readonly instanceHours: number;
  readonly runId: string;
  readonly finishedAt: string;
}

/** The history row of a judged check whose instance wrote into `outputFolder` (none when the launch failed). */
export function historyRow(
  check: ReproCheck,
  outcome: ReproOutcome,
  runId: string,
  finishedAt: Date,
  outputFolder?: string,
): ReproHistoryRow {
  return {
    lineKey: check.lineKey,
    week: check.week,
    imageId: check.imageId,
    imageName: check.imageName,
    seriesKey: check.seriesKey,
    revision: check.revision,
    buildDate: check.buildDate,
    instanceType: check.instanceType,
    status: outcome.status,
    differingFiles: outcome.differingFiles,
    topPaths: outcome.topPaths,
    reason: outcome.reason,
    reportPrefix: outputFolder ?? check.reportPrefix,
    instanceHours: check.instanceHours,
    runId,
    finishedAt: finishedAt.toISOString(),
  };
}

/** A line that was reproducible and no longer is: the revisions between the last good and the first bad build. */
export interface ReproRegression {
  readonly lineKey: string;
  readonly lastReproducible: ReproHistoryRow;
  readonly firstDiffering: ReproHistoryRow;
}

/**
 * Lines whose newest result in `week` differs while the result before it was reproducible. Builds that could not
 * be judged (failed, timed out, no report) between the two are skipped: they say nothing about reproducibility.
 */
export function reproRegressions(rows: readonly ReproHistoryRow[], week: string): ReproRegression[] {
  const byLine = new Map<string, ReproHistoryRow[]>();
  for (const row of rows) byLine.set(row.lineKey, [...(byLine.get(row.lineKey) ?? []), row]);
  const found: ReproRegression[] = [];
  for (const [lineKey, lineRows] of byLine) {
    const judged = lineRows
      .filter((r) => r.status === 'reproducible' || r.status === 'differs')
      .sort(
        (a, b) =>
          a.week.localeCompare(b.week) ||
          (a.buildDate ?? '').localeCompare(b.buildDate ?? '') ||
          a.finishedAt.localeCompare(b.finishedAt),
      );
    const current = judged.filter((r) => r.week === week).at(-1);
    if (current?.status !== 'differs') continue;
    const before = judged.slice(0, judged.indexOf(current));
    const lastGood = before.filter((r) => r.status === 'reproducible').at(-1);
    if (!lastGood) continue;
    const firstBad = before.slice(before.indexOf(lastGood) + 1).find((r) => r.status === 'differs') ?? current;
    found.push({ lineKey, lastReproducible: lastGood, firstDiffering: firstBad });
  }
  return found.sort((a, b) => a.lineKey.localeCompare(b.lineKey));
}
