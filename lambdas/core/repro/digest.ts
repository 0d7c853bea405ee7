import type { DigestWindow } from '../digest-week';
import { inWindow } from '../digest-week';
import { type ReproHistoryRow, reproRegressions } from './history';

/** A part of the weekly digest beyond publish, boot test and prune. */
export interface DigestSection {
  readonly lines: readonly string[];
  /** A word for the subject line, e.g. `1 not reproducible`. */
  readonly headline?: string;
  readonly needsAttention: boolean;
}

/** Where the full outputs of a check are: the report bucket, read in the S3 console. */
export interface ReportLocation {
  readonly bucket: string;
  readonly region: string;
}

/** The S3 console's page of one object of the report bucket (private: operators sign in to read it). */
export function consoleLink(location: ReportLocation, key: string): string {
  return `https://${location.region}.console.aws.amazon.com/s3/object/${location.bucket}?region=${location.region}&prefix=${encodeURIComponent(key)}`;
}

const VERDICTS: Readonly<Record<ReproHistoryRow['status'], string>> = {
  reproducible: 'reproducible',
  differs: 'NOT reproducible',
  'build-failed': 'build failed',
  timeout: 'timed out',
  'no-report': 'no report',
  failed: 'check failed',
};

/**
 * The digest's reproducibility section: one entry per image checked in the window (reproducible, or how many files
 * differ with the first paths and a link to diffoscope's full output, or why there is no verdict), and each line
 * that was reproducible and no longer is, with the revision range in which it changed.
 */
export function reproDigestSection(
  rows: readonly ReproHistoryRow[],
  window: DigestWindow,
  location: ReportLocation,
): DigestSection {
  const checked = rows
    .filter((r) => inWindow(r.finishedAt, window))
    .sort((a, b) => a.lineKey.localeCompare(b.lineKey) || a.imageName.localeCompare(b.imageName));
  if (checked.length === 0)
    return {
      lines: ['Reproducibility checks', '  No builder image was checked this week.', ''],
      needsAttention: false,
    };
  const lines = ['Reproducibility checks'];
  for (const row of checked) {
    const differing = row.status === 'differs' ? `: ${row.differingFiles} differing file(s)` : '';
    lines.push(`  ${row.imageName} (${row.imageId}, ${row.revision}): ${VERDICTS[row.status]}${differing}`);
    if (row.status === 'differs') {
      for (const path of row.topPaths.slice(0, 5)) lines.push(`    ${path}`);
      if (row.differingFiles > 5) lines.push(`    ... and ${row.differingFiles - 5} more`);
      lines.push(`    full diffoscope output: ${consoleLink(location, `${row.reportPrefix}diffoscope.txt`)}`);
    } else if (row.status !== 'reproducible') {
      lines.push(`    ${row.reason}`);
      lines.push(`    build log: ${consoleLink(location, `${row.reportPrefix}build-log-tail.txt`)}`);
    }
  }
  const weeks = [...new Set(checked.map((r) => r.week))];
  const regressions = weeks.flatMap((week) => reproRegressions(rows, week));
  if (regressions.length) {
    lines.push('  Newly not reproducible:');
    for (const r of regressions)
      lines.push(
        `    ${r.lineKey}: reproducible at ${r.lastReproducible.revision} (${r.lastReproducible.week}), not at ${r.firstDiffering.revision} (${r.firstDiffering.week}); the change is in ${r.lastReproducible.revision}..${r.firstDiffering.revision.split('@').pop()}`,
      );
  }
  lines.push('');
  const bad = checked.filter((r) => r.status !== 'reproducible').length;
  const differing = checked.filter((r) => r.status === 'differs').length;
  return {
    lines,
    headline: differing ? `${differing} not reproducible` : undefined,
    needsAttention: bad > 0,
  };
}
