import { snsSubject } from './sns';
import type { ItemFailure } from './errors';

/** What the publish run of the week did, as the digest tells it. */
export interface PublishSummary {
  readonly images: readonly string[];
  readonly regions: number;
  readonly copiesMade: number;
  readonly regionsFailed: readonly string[];
  readonly announced: boolean;
  readonly failures: readonly ItemFailure[];
}

/** What the boot tests of the week found. */
export interface BootTestSummary {
  readonly runs: number;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** Human-readable lines, e.g. "15.0-CURRENT amd64 base/zfs on c7i.large: 11.2 s -> 22.9 s between ...". */
  readonly regressions: readonly string[];
  /** Slowest boots, one line each, for a quick look. */
  readonly notable: readonly string[];
  readonly failures: readonly ItemFailure[];
}

/** What the prune run of the week did (or would do, in dry-run). */
export interface PruneSummary {
  readonly dryRun: boolean;
  readonly imagesDeregistered: number;
  readonly snapshotsDeleted: number;
  readonly reclaimedGiB: number;
  readonly remainingOverCap: number;
  readonly unmanagedFound: number;
  readonly keptByReason: Readonly<Record<string, number>>;
  readonly regionsRefused: readonly string[];
  /** Development lines past their end of life and what they held when the run planned. */
  readonly retiredLines?: readonly RetiredLineSummary[];
  readonly failures: readonly ItemFailure[];
}

/** A development line past its end of life, as the prune report gives it. */
export interface RetiredLineSummary {
  readonly line: string;
  readonly endOfLife: string;
  readonly images: number;
  readonly snapshots: number;
  readonly gib: number;
  readonly imagesDeleted: number;
  readonly keptByReason: Readonly<Record<string, number>>;
}

/** What the audits of the week found and repaired (the newest run's view, which saw the regions last). */
export interface AuditSummary {
  readonly runs: number;
  readonly repair: boolean;
  readonly regions: number;
  readonly builds: number;
  readonly found: number;
  readonly repaired: number;
  readonly unrepaired: number;
  readonly byKind: Readonly<Record<string, number>>;
  /** Findings repaired, one line each (the first ones). */
  readonly repairs: readonly string[];
  /** Findings left (with their cause), failed regions and failed runs. */
  readonly failures: readonly ItemFailure[];
}

export interface DigestInput {
  /** ISO date the digest is about, e.g. `2026-11-28`. */
  readonly weekEnding: string;
  readonly subjectPrefix: string;
  readonly publish?: PublishSummary;
  readonly bootTest?: BootTestSummary;
  readonly prune?: PruneSummary;
  readonly audit?: AuditSummary;
}

export interface Digest {
  readonly subject: string;
  readonly text: string;
  /** True when anything failed, regressed or was refused: worth an operator's look. */
  readonly needsAttention: boolean;
}

const MAX_FAILURE_LINES = 25;

function failureLines(failures: readonly ItemFailure[]): string[] {
  const lines = failures
    .slice(0, MAX_FAILURE_LINES)
    .map((f) => `    ${f.region} ${f.id}: ${f.code ? `${f.code}: ` : ''}${f.error}`);
  if (failures.length > MAX_FAILURE_LINES) lines.push(`    ... and ${failures.length - MAX_FAILURE_LINES} more`);
  return lines;
}

function plural(count: number, word: string, many = `${word}s`): string {
  return `${count} ${count === 1 ? word : many}`;
}

/** One line of text about a retired line: what it held, what goes, and why the rest stays. */
export function retiredLineText(line: RetiredLineSummary, verb = 'were'): string {
  const kept = Object.entries(line.keptByReason)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([reason, count]) => `${count} ${reason}`);
  return `${line.line} (end of life ${line.endOfLife}): held ${plural(line.images, 'image')}, ${plural(line.snapshots, 'snapshot')}, ${Math.round(line.gib * 10) / 10} GiB; ${line.imagesDeleted} ${verb} deregistered${kept.length ? `, kept: ${kept.join(', ')}` : ''}`;
}

/**
 * The one weekly mail: what was published, how the boots went, what the audit found and repaired, what was pruned,
 * and everything that failed.
 */
export function renderDigest(input: DigestInput): Digest {
  const sections: string[] = [`Weekly AMI pipeline report for the week ending ${input.weekEnding}`, ''];
  const headline: string[] = [];
  let needsAttention = false;

  const { publish, bootTest, prune, audit } = input;
  if (publish) {
    headline.push(`${publish.images.length} published`);
    needsAttention ||= publish.failures.length > 0 || publish.regionsFailed.length > 0;
    sections.push(
      'Publish',
      `  ${plural(publish.images.length, 'new image')} published to ${plural(publish.regions, 'region')} (${plural(publish.copiesMade, 'copy', 'copies')} made)${publish.announced ? ', announced on the mailing list' : ''}.`,
      ...publish.images.map((name) => `    ${name}`),
    );
    if (publish.regionsFailed.length) sections.push(`  Regions that failed: ${publish.regionsFailed.join(', ')}`);
    if (publish.failures.length) sections.push('  Failures:', ...failureLines(publish.failures));
    sections.push('');
  }
  if (bootTest) {
    headline.push(`${bootTest.passed}/${bootTest.runs} boots ok`);
    if (bootTest.regressions.length) headline.push(plural(bootTest.regressions.length, 'regression'));
    needsAttention ||= bootTest.failed > 0 || bootTest.regressions.length > 0 || bootTest.failures.length > 0;
    sections.push(
      'Boot tests',
      `  ${plural(bootTest.runs, 'boot')}: ${bootTest.passed} passed, ${bootTest.failed} failed, ${bootTest.skipped} skipped (no capacity).`,
    );
    if (bootTest.regressions.length)
      sections.push('  Regressions:', ...bootTest.regressions.map((line) => `    ${line}`));
    if (bootTest.notable.length) sections.push('  Slowest boots:', ...bootTest.notable.map((line) => `    ${line}`));
    if (bootTest.failures.length) sections.push('  Failures:', ...failureLines(bootTest.failures));
    sections.push('');
  }
  if (audit) {
    // A clean audit is said in the body; the subject names only what needs a look.
    if (audit.found > 0) headline.push(plural(audit.found, 'audit finding'));
    needsAttention ||= audit.failures.length > 0;
    const kinds = Object.entries(audit.byKind).sort(([a], [b]) => a.localeCompare(b));
    sections.push(
      `Audit${audit.repair ? '' : ' (without repair: nothing was changed)'}`,
      `  ${plural(audit.builds, 'current build')} checked in ${plural(audit.regions, 'region')}: ${plural(audit.found, 'finding')}, ${audit.repaired} repaired, ${audit.unrepaired} left.`,
    );
    if (audit.runs > 1) sections.push(`  ${audit.runs} audit runs this week; the newest is reported.`);
    if (kinds.length) sections.push('  Found:', ...kinds.map(([kind, count]) => `    ${count} ${kind}`));
    if (audit.repairs.length) sections.push('  Repaired:', ...audit.repairs.map((line) => `    ${line}`));
    if (audit.failures.length) sections.push('  Left or failed:', ...failureLines(audit.failures));
    sections.push('');
  }
  if (prune) {
    const verb = prune.dryRun ? 'would be' : 'were';
    headline.push(`${prune.imagesDeregistered} pruned${prune.dryRun ? ' (dry-run)' : ''}`);
    needsAttention ||= prune.failures.length > 0 || prune.regionsRefused.length > 0;
    sections.push(
      `Prune${prune.dryRun ? ' (dry-run: nothing was deleted)' : ''}`,
      `  ${plural(prune.imagesDeregistered, 'image')} ${verb} deregistered and ${plural(prune.snapshotsDeleted, 'snapshot')} deleted, reclaiming ${prune.reclaimedGiB} GiB.`,
    );
    const kept = Object.entries(prune.keptByReason).sort(([a], [b]) => a.localeCompare(b));
    if (kept.length) sections.push('  Kept:', ...kept.map(([reason, count]) => `    ${count} ${reason}`));
    if (prune.unmanagedFound)
      sections.push(`  ${plural(prune.unmanagedFound, 'unmanaged image')} found and left alone.`);
    if (prune.remainingOverCap)
      sections.push(`  ${prune.remainingOverCap} more ${verb} due but over the per-run cap; they follow next run.`);
    if (prune.retiredLines?.length)
      sections.push(
        '  Retired lines (past their end of life):',
        ...prune.retiredLines.map((r) => `    ${retiredLineText(r, verb)}`),
      );
    if (prune.regionsRefused.length)
      sections.push(`  Refused by the safety breaker in: ${prune.regionsRefused.join(', ')}`);
    if (prune.failures.length) sections.push('  Failures:', ...failureLines(prune.failures));
    sections.push('');
  }
  if (!publish && !bootTest && !prune && !audit) sections.push('Nothing ran this week.', '');

  const failures =
    (publish?.failures.length ?? 0) +
    (bootTest?.failures.length ?? 0) +
    (prune?.failures.length ?? 0) +
    (audit?.failures.length ?? 0);
  if (failures) headline.push(plural(failures, 'failure'));
  const subject = snsSubject(
    `${input.subjectPrefix} ${input.weekEnding}: ${headline.join(', ') || 'no activity'}`.trim(),
  );
  return { subject, text: sections.join('\n'), needsAttention };
}
