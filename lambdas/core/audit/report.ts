import { FINDING_KINDS, type AuditFinding, type FindingKind } from './model';
import { findingKey } from './plan';

/**
 * What became of a finding: `repaired`; `failed` (the repair was tried and did not take, `cause` says why);
 * `not-repairable` (`cause` says why); `not-asked` (a run without repair).
 */
export type RepairOutcome = 'repaired' | 'failed' | 'not-repairable' | 'not-asked';

/** A finding as reports carry it: small, with its outcome. */
export interface ReportedFinding {
  readonly kind: FindingKind;
  readonly region: string;
  readonly series: string;
  readonly name: string;
  readonly sourceImageId: string;
  readonly imageIds: readonly string[];
  readonly reason: string;
  readonly outcome: RepairOutcome;
  readonly cause?: string;
}

/** What the audit found and did in one region, bounded whatever the number of findings. */
export interface RegionAuditReport {
  readonly region: string;
  readonly status: 'clean' | 'repaired' | 'findings' | 'failed';
  readonly found: number;
  readonly repaired: number;
  /** Findings still there at the end (including those not repairable, and all of them without repair). */
  readonly unrepaired: number;
  readonly byKind: Partial<Record<FindingKind, number>>;
  /** The first findings, in report order; at most `MAX_REGION_FINDINGS`. */
  readonly findings: readonly ReportedFinding[];
  readonly error?: string;
}

/** The audit run's summary: what the digest and the CLI read. */
export interface AuditRunSummary {
  readonly repair: boolean;
  readonly regions: number;
  readonly builds: number;
  readonly found: number;
  readonly repaired: number;
  readonly unrepaired: number;
  readonly byKind: Partial<Record<FindingKind, number>>;
  readonly failedRegions: readonly string[];
  /** The first findings of all regions, in report order; at most `MAX_RUN_FINDINGS`. */
  readonly findings: readonly ReportedFinding[];
  /** Regions that failed plus, in a repair run, findings left unrepaired: the run fails when above 0. */
  readonly failedCount: number;
}

/** Findings a region's report lists one by one (the Map collects every region's report). */
export const MAX_REGION_FINDINGS = 15;
/** Findings the run summary lists one by one. */
export const MAX_RUN_FINDINGS = 50;
const MAX_TEXT = 300;

function short(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 3)}...` : text;
}

/** Report order: unrepaired first, then by region, kind and name. */
export function compareFindings(a: ReportedFinding, b: ReportedFinding): number {
  const done = (f: ReportedFinding) => (f.outcome === 'repaired' ? 1 : 0);
  return (
    done(a) - done(b) ||
    a.region.localeCompare(b.region) ||
    FINDING_KINDS.indexOf(a.kind) - FINDING_KINDS.indexOf(b.kind) ||
    a.name.localeCompare(b.name)
  );
}

/** A planned finding as reported before anything was done: `not-repairable` with its cause, or `outcome`. */
export function reportFinding(finding: AuditFinding, outcome: RepairOutcome, cause?: string): ReportedFinding {
  const why = finding.unrepairable ?? cause;
  return {
    kind: finding.kind,
    region: finding.region,
    series: finding.series,
    name: finding.name,
    sourceImageId: finding.sourceImageId,
    imageIds: finding.imageIds.slice(0, 6),
    reason: short(finding.reason),
    outcome: finding.unrepairable ? 'not-repairable' : outcome,
    ...(why ? { cause: short(why) } : {}),
  };
}

/**
 * The outcome of each finding of a first look, given what a second look (after the repairs) still finds: a finding
 * whose key is gone was repaired; one still there failed, with the cause the second look gives (or the first's).
 */
export function settleFindings(
  first: readonly ReportedFinding[],
  remaining: readonly ReportedFinding[],
): ReportedFinding[] {
  const left = new Map(remaining.map((f) => [findingKey(f), f]));
  const settled = first.map((finding): ReportedFinding => {
    if (finding.outcome === 'not-repairable' || finding.outcome === 'not-asked') return finding;
    const still = left.get(findingKey(finding));
    if (!still) return { ...finding, outcome: 'repaired', cause: undefined };
    return {
      ...finding,
      outcome: still.outcome === 'not-repairable' ? 'not-repairable' : 'failed',
      cause: still.cause ?? finding.cause ?? 'still found after the repair',
    };
  });
  const known = new Set(first.map(findingKey));
  const added = remaining.filter((f) => !known.has(findingKey(f)) && f.outcome !== 'repaired');
  return [...settled, ...added];
}

function countKinds(findings: readonly { readonly kind: FindingKind }[]): Partial<Record<FindingKind, number>> {
  const counts: Partial<Record<FindingKind, number>> = {};
  for (const finding of findings) counts[finding.kind] = (counts[finding.kind] ?? 0) + 1;
  return counts;
}

/** A region's report from its findings and their outcomes. */
export function regionReport(region: string, findings: readonly ReportedFinding[]): RegionAuditReport {
  const repaired = findings.filter((f) => f.outcome === 'repaired').length;
  const unrepaired = findings.length - repaired;
  const status = findings.length === 0 ? 'clean' : unrepaired === 0 ? 'repaired' : 'findings';
  return {
    region,
    status,
    found: findings.length,
    repaired,
    unrepaired,
    byKind: countKinds(findings),
    findings: [...findings].sort(compareFindings).slice(0, MAX_REGION_FINDINGS),
  };
}

/** A region whose audit failed outright, as the workflow's failure branch reports it. */
export interface FailedRegionAudit {
  readonly region: string;
  readonly status: 'failed';
  readonly error: string;
}

/** The run's summary from each region's report (or failure). */
export function summarizeAudit(input: {
  readonly repair: boolean;
  readonly builds: number;
  readonly outcomes: readonly (RegionAuditReport | FailedRegionAudit)[];
}): AuditRunSummary {
  const reports = input.outcomes.filter((o): o is RegionAuditReport => 'found' in o);
  const failedRegions = input.outcomes.filter((o) => o.status === 'failed').map((o) => o.region);
  const byKind: Partial<Record<FindingKind, number>> = {};
  for (const report of reports)
    for (const [kind, count] of Object.entries(report.byKind) as [FindingKind, number][])
      byKind[kind] = (byKind[kind] ?? 0) + count;
  const found = reports.reduce((sum, r) => sum + r.found, 0);
  const repaired = reports.reduce((sum, r) => sum + r.repaired, 0);
  const unrepaired = reports.reduce((sum, r) => sum + r.unrepaired, 0);
  return {
    repair: input.repair,
    regions: input.outcomes.length,
    builds: input.builds,
    found,
    repaired,
    unrepaired,
    byKind,
    failedRegions: failedRegions.sort(),
    findings: reports
      .flatMap((r) => r.findings)
      .sort(compareFindings)
      .slice(0, MAX_RUN_FINDINGS),
    failedCount: failedRegions.length + (input.repair ? unrepaired : 0),
  };
}
