import * as z from 'zod';
import { type BootHistoryRow, toBootPoint } from './boot/result';
import { type BootPoint, detectRegression, type RegressionPolicy } from './boot/regression';
import {
  type AuditSummary,
  type BootTestSummary,
  type Digest,
  type PruneSummary,
  type PublishSummary,
  renderDigest,
} from './digest';
import type { ItemFailure } from './errors';
import type { DigestSection } from './repro/digest';
import { snsSubject } from './sns';
import { DAY_MS } from './time';

const SLOWEST_LISTED = 3;

/** The stretch of time a weekly digest reports on: `[from, to)`, ISO timestamps. */
export interface DigestWindow {
  readonly from: string;
  readonly to: string;
}

/** The `days` before `now`. */
export function digestWindow(now: Date, days = 7): DigestWindow {
  return { from: new Date(now.getTime() - days * DAY_MS).toISOString(), to: now.toISOString() };
}

/** True when `iso` lies in `[window.from, window.to)`. */
export function inWindow(iso: string, window: DigestWindow): boolean {
  const at = Date.parse(iso);
  return at >= Date.parse(window.from) && at < Date.parse(window.to);
}

/** One Step Functions execution as DescribeExecution reports it. */
export interface ExecutionRecord {
  readonly executionArn: string;
  readonly name: string;
  /** RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE. */
  readonly status: string;
  readonly startDate: string;
  readonly stopDate?: string;
  /** The execution's output JSON text; present only on SUCCEEDED. */
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
  /**
   * For a run that ended in a Fail state: the input that state received (from the execution history). The workflows
   * fail only after their summary step, so this is the run's full state with the summary, as a success leaves it.
   */
  readonly failedWithState?: string;
}

/** A part's view of the week: its summary when anything finished, and lines for what could not be summarised. */
export interface PartSummary<T> {
  readonly summary?: T;
  readonly notes: readonly string[];
}

const itemFailure = z.object({ id: z.string(), region: z.string(), error: z.string(), code: z.string().optional() });

/** One source a publish run got into regions, and in how many of the run's regions it now is. */
const publishedSource = z.object({ name: z.string(), regions: z.number(), of: z.number() });

/**
 * What the publish state machine leaves as its output (lib/publish-workflow.ts): Discover's result, the region Map's
 * summaries and the Announce step's run summary, which names the sources and lists the failures (read from the
 * ledger). Outputs of the first release (per-region maps of image ids, names by id) are still read.
 */
const publishOutput = z.object({
  buildRegion: z.string().optional(),
  regions: z.array(z.string()).default([]),
  images: z.array(z.string()).default([]),
  names: z.record(z.string(), z.string()).default({}),
  count: z.number().default(0),
  gaveUp: z.array(itemFailure).default([]),
  outcomes: z
    .array(
      z.object({
        region: z.string(),
        status: z.string(),
        published: z.union([z.number(), z.record(z.string(), z.string())]).optional(),
        failed: z.union([z.number(), z.array(itemFailure)]).optional(),
        error: z.string().optional(),
      }),
    )
    .default([]),
  summary: z
    .object({
      failedCount: z.number(),
      failedRegions: z.array(z.string()).default([]),
      messages: z.number().optional(),
      published: z.array(publishedSource).optional(),
      pairsPublished: z.number().optional(),
      failures: z.array(itemFailure).default([]),
    })
    .optional(),
});

const pruneRegionReport = z.object({
  region: z.string(),
  keptByReason: z.record(z.string(), z.number()).default({}),
  unmanagedFound: z.number().default(0),
  remainingOverCap: z.number().default(0),
  breaker: z.object({ tripped: z.boolean() }).optional(),
  failures: z.array(itemFailure).default([]),
  error: z.string().optional(),
});

const retiredLineReport = z.object({
  line: z.string(),
  endOfLife: z.string(),
  images: z.number(),
  snapshots: z.number(),
  gib: z.number(),
  imagesDeleted: z.number(),
  keptByReason: z.record(z.string(), z.number()).default({}),
});

/** What the prune state machine leaves as its output (lib/prune-workflow.ts: Plan, the Map, Summary). */
const pruneOutput = z.object({
  plan: z.object({
    execute: z.boolean(),
    failedRegions: z.array(z.string()).default([]),
    report: z.object({
      regions: z.array(pruneRegionReport).default([]),
      retiredLines: z.array(retiredLineReport).default([]),
      totals: z.object({
        imagesDeregistered: z.number().default(0),
        snapshotsDeleted: z.number().default(0),
        gibReclaimed: z.number().default(0),
        remainingOverCap: z.number().default(0),
      }),
    }),
  }),
  results: z
    .array(
      z.union([
        z.object({ region: z.string(), totals: z.object({ failures: z.array(itemFailure).default([]) }) }),
        z.object({ region: z.string(), error: z.unknown() }),
      ]),
    )
    .default([]),
  summary: z
    .object({
      summary: z.object({
        imagesDeregistered: z.number(),
        snapshotsDeleted: z.number(),
        gibReclaimed: z.number(),
        failedRegions: z.array(z.string()).default([]),
      }),
    })
    .optional(),
});

const auditFinding = z.object({
  kind: z.string(),
  region: z.string(),
  name: z.string(),
  reason: z.string(),
  outcome: z.string(),
  cause: z.string().optional(),
});

/** What the audit state machine leaves as its output (lib/audit-workflow.ts: the input, the Map, Summary). */
const auditOutput = z.object({
  input: z.object({ repair: z.boolean() }).optional(),
  outcomes: z.array(z.object({ region: z.string(), status: z.string(), error: z.string().optional() })).default([]),
  summary: z
    .object({
      summary: z.object({
        repair: z.boolean(),
        regions: z.number(),
        builds: z.number(),
        found: z.number(),
        repaired: z.number(),
        unrepaired: z.number(),
        byKind: z.record(z.string(), z.number()).default({}),
        failedRegions: z.array(z.string()).default([]),
        findings: z.array(auditFinding).default([]),
      }),
    })
    .optional(),
});

/** The region of a Step Functions ARN (`arn:aws:states:<region>:...`). */
function regionOfArn(arn: string): string {
  return arn.split(':')[3] || 'unknown';
}

const UNFINISHED = new Set(['RUNNING', 'PENDING_REDRIVE']);

/** A failed, timed-out or aborted execution as one digest failure. */
function executionFailure(execution: ExecutionRecord): ItemFailure {
  const detail = [execution.error, execution.cause].filter(Boolean).join(': ');
  return {
    id: `execution ${execution.name}`,
    region: regionOfArn(execution.executionArn),
    error: `${execution.status.toLowerCase().replace('_', ' ')}${detail ? ` (${detail})` : ''}`,
    code: execution.status,
  };
}

function unreadableOutput(execution: ExecutionRecord, issue: string): ItemFailure {
  return {
    id: `execution ${execution.name}`,
    region: regionOfArn(execution.executionArn),
    error: `${execution.status.toLowerCase()} and its final state could not be read: ${issue}`,
    code: 'UnreadableOutput',
  };
}

/** A run whose final state is known: it succeeded, or failed in its Fail state after summing up. */
function hasState(execution: ExecutionRecord): boolean {
  return execution.status === 'SUCCEEDED' || (execution.status === 'FAILED' && execution.failedWithState !== undefined);
}

function parseOutput<S extends z.ZodType>(schema: S, execution: ExecutionRecord): z.output<S> | string {
  let json: unknown;
  try {
    json = JSON.parse((execution.status === 'SUCCEEDED' ? execution.output : execution.failedWithState) ?? 'null');
  } catch {
    return 'not JSON';
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : (parsed.error.issues[0]?.message ?? 'unexpected shape');
}

/** Oldest first, so later runs of the week override earlier ones where only one can count. */
function byStart(executions: readonly ExecutionRecord[]): ExecutionRecord[] {
  return [...executions].sort((a, b) => a.startDate.localeCompare(b.startDate));
}

function stillRunning(part: string, executions: readonly ExecutionRecord[]): string[] {
  return executions
    .filter((e) => UNFINISHED.has(e.status))
    .map((e) => `The ${part} execution ${e.name} started ${e.startDate} has not finished yet.`);
}

/** A source as the digest lists it: its name, and where it is missing when not in every region of the run. */
function sourceLine(source: z.output<typeof publishedSource>): string {
  return source.regions < source.of ? `${source.name} (in ${source.regions} of ${source.of} regions)` : source.name;
}

/**
 * The digest's view of the week's publish executions. Runs add up (a manual re-run publishes what the scheduled run
 * could not; a later run's count of regions for a source replaces an earlier one's). A run that failed after its
 * summary reports its final state like a success, whose listed failures then say what went wrong; any other failed,
 * timed-out or aborted run is one failure naming its error. Sources are listed by name, from the run summary.
 */
export function publishSummaryFromExecutions(
  executions: readonly ExecutionRecord[],
  window: DigestWindow,
): PartSummary<PublishSummary> {
  const ordered = byStart(executions);
  const notes = stillRunning('publish', ordered);
  const finished = ordered.filter((e) => !UNFINISHED.has(e.status));
  if (finished.length === 0)
    return { notes: [...notes, `No publish run finished between ${window.from} and ${window.to}.`] };

  const images = new Map<string, string>();
  const regions = new Set<string>();
  const regionsFailed = new Set<string>();
  const failures: ItemFailure[] = [];
  let copiesMade = 0;
  let announced = false;
  for (const execution of finished) {
    if (!hasState(execution)) {
      failures.push(executionFailure(execution));
      continue;
    }
    const output = parseOutput(publishOutput, execution);
    if (typeof output === 'string') {
      failures.push(unreadableOutput(execution, output));
      continue;
    }
    for (const region of output.regions) regions.add(region);
    const failuresBefore = failures.length;
    for (const outcome of output.outcomes) if (outcome.status === 'failed') regionsFailed.add(outcome.region);
    for (const region of output.summary?.failedRegions ?? []) regionsFailed.add(region);
    failures.push(...output.gaveUp);
    const summary = output.summary;
    if (summary?.published) {
      for (const source of summary.published) images.set(source.name, sourceLine(source));
      copiesMade += summary.pairsPublished ?? 0;
      failures.push(...summary.failures);
      announced ||= (summary.messages ?? 0) > 0;
    } else {
      // The first release's output: image ids per region, names by source id.
      let copiesOfRun = 0;
      for (const outcome of output.outcomes) {
        const published = typeof outcome.published === 'object' ? Object.keys(outcome.published) : [];
        for (const source of published) images.set(output.names[source] ?? source, output.names[source] ?? source);
        copiesOfRun += published.length;
        if (Array.isArray(outcome.failed)) failures.push(...outcome.failed);
        if (outcome.error) failures.push({ id: 'region', region: outcome.region, error: outcome.error });
      }
      copiesMade += copiesOfRun;
      announced ||= summary !== undefined && copiesOfRun > 0;
    }
    if (execution.status !== 'SUCCEEDED' && failures.length === failuresBefore)
      failures.push(executionFailure(execution));
  }
  return {
    summary: {
      images: [...images.values()].sort(),
      regions: regions.size,
      copiesMade,
      regionsFailed: [...regionsFailed].sort(),
      announced,
      failures,
    },
    notes,
  };
}

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [key, count] of Object.entries(from)) into[key] = (into[key] ?? 0) + count;
}

/**
 * The digest's view of the week's prune executions. Deletions of executed runs add up; a week of dry runs reports
 * the newest one (each plans the same inventory again). What was kept, unmanaged or refused comes from the newest
 * successful run, which saw the inventory last.
 */
export function pruneSummaryFromExecutions(
  executions: readonly ExecutionRecord[],
  window: DigestWindow,
): PartSummary<PruneSummary> {
  const ordered = byStart(executions);
  const notes = stillRunning('prune', ordered);
  const finished = ordered.filter((e) => !UNFINISHED.has(e.status));
  if (finished.length === 0)
    return { notes: [...notes, `No prune run finished between ${window.from} and ${window.to}.`] };

  const failures: ItemFailure[] = [];
  const runs: z.output<typeof pruneOutput>[] = [];
  for (const execution of finished) {
    if (!hasState(execution)) {
      failures.push(executionFailure(execution));
      continue;
    }
    const output = parseOutput(pruneOutput, execution);
    if (typeof output === 'string') {
      failures.push(unreadableOutput(execution, output));
      continue;
    }
    runs.push(output);
    const failuresBefore = failures.length;
    for (const region of output.plan.report.regions)
      if (region.error) failures.push({ id: 'region', region: region.region, error: region.error });
    for (const result of output.results) {
      if ('totals' in result) failures.push(...result.totals.failures);
      else failures.push({ id: 'region', region: result.region, error: describeUnknown(result.error) });
    }
    // A failed run that lists no failure of its own (they were past the listed ones) is still said to have failed.
    if (execution.status !== 'SUCCEEDED' && failures.length === failuresBefore)
      failures.push(executionFailure(execution));
  }
  const latest = runs[runs.length - 1];
  if (!latest)
    return {
      summary: {
        dryRun: false,
        imagesDeregistered: 0,
        snapshotsDeleted: 0,
        reclaimedGiB: 0,
        remainingOverCap: 0,
        unmanagedFound: 0,
        keptByReason: {},
        regionsRefused: [],
        retiredLines: [],
        failures,
      },
      notes,
    };

  const executed = runs.filter((r) => r.plan.execute);
  const counted = executed.length
    ? executed.map((r) => ({
        images: r.summary?.summary.imagesDeregistered ?? 0,
        snapshots: r.summary?.summary.snapshotsDeleted ?? 0,
        gib: r.summary?.summary.gibReclaimed ?? 0,
      }))
    : [
        {
          images: latest.plan.report.totals.imagesDeregistered,
          snapshots: latest.plan.report.totals.snapshotsDeleted,
          gib: latest.plan.report.totals.gibReclaimed,
        },
      ];
  const keptByReason: Record<string, number> = {};
  for (const region of latest.plan.report.regions) addCounts(keptByReason, region.keptByReason);
  const reportRegions = latest.plan.report.regions;
  return {
    summary: {
      dryRun: executed.length === 0,
      imagesDeregistered: counted.reduce((sum, c) => sum + c.images, 0),
      snapshotsDeleted: counted.reduce((sum, c) => sum + c.snapshots, 0),
      reclaimedGiB: Math.round(counted.reduce((sum, c) => sum + c.gib, 0) * 10) / 10,
      remainingOverCap: latest.plan.report.totals.remainingOverCap,
      unmanagedFound: reportRegions.reduce((sum, r) => sum + r.unmanagedFound, 0),
      keptByReason,
      regionsRefused: reportRegions.filter((r) => r.breaker?.tripped).map((r) => r.region),
      retiredLines: latest.plan.report.retiredLines,
      failures,
    },
    notes,
  };
}

/** The Map's catch keeps Step Functions' `Cause`, often a JSON text with an `errorMessage`. */
function describeUnknown(error: unknown): string {
  if (typeof error !== 'string') return JSON.stringify(error) ?? 'unknown error';
  try {
    const parsed = JSON.parse(error) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // A plain text cause is already readable.
  }
  return error;
}

const REPAIRS_LISTED = 10;

/**
 * The digest's view of the week's audits: the newest run that finished with its summary reports the findings and
 * repairs (it saw the regions last); every finding it left, each failed region and each run that failed without a
 * summary is a failure. A week without a successful summary reports the failures alone.
 */
export function auditSummaryFromExecutions(
  executions: readonly ExecutionRecord[],
  window: DigestWindow,
): PartSummary<AuditSummary> {
  const ordered = byStart(executions);
  const notes = stillRunning('audit', ordered);
  const finished = ordered.filter((e) => !UNFINISHED.has(e.status));
  if (finished.length === 0)
    return { notes: [...notes, `No audit run finished between ${window.from} and ${window.to}.`] };
  const failures: ItemFailure[] = [];
  let latest: z.output<typeof auditOutput> | undefined;
  for (const execution of finished) {
    if (!hasState(execution)) {
      failures.push(executionFailure(execution));
      continue;
    }
    const output = parseOutput(auditOutput, execution);
    if (typeof output === 'string') failures.push(unreadableOutput(execution, output));
    else if (!output.summary) {
      if (execution.status !== 'SUCCEEDED') failures.push(executionFailure(execution));
    } else latest = output;
  }
  const summary = latest?.summary?.summary;
  if (!summary) {
    const empty = { repair: false, regions: 0, builds: 0, found: 0, repaired: 0, unrepaired: 0, byKind: {} };
    return { summary: { ...empty, runs: finished.length, repairs: [], failures }, notes };
  }
  for (const region of latest?.outcomes ?? [])
    if (region.status === 'failed' && region.error)
      failures.push({ id: 'region', region: region.region, error: region.error });
  const left = summary.findings.filter((f) => f.outcome !== 'repaired');
  failures.push(
    ...left.map((f) => ({
      id: f.name,
      region: f.region,
      code: f.kind,
      error: `${f.reason}${f.cause ? ` (${f.outcome}: ${f.cause})` : ''}`,
    })),
  );
  const repairs = summary.findings
    .filter((f) => f.outcome === 'repaired')
    .slice(0, REPAIRS_LISTED)
    .map((f) => `${f.region} ${f.name}: ${f.kind}`);
  if (summary.repaired > repairs.length) repairs.push(`... and ${summary.repaired - repairs.length} more`);
  return {
    summary: {
      runs: finished.length,
      repair: summary.repair,
      regions: summary.regions,
      builds: summary.builds,
      found: summary.found,
      repaired: summary.repaired,
      unrepaired: summary.unrepaired,
      byKind: summary.byKind,
      repairs,
      failures,
    },
    notes,
  };
}

/**
 * The digest's view of the boot tests recorded in the window: one run per history row (an image on an instance
 * type), regressions judged against the rest of the history with the configured policy, the slowest boots listed.
 */
export function bootTestSummaryFromHistory(
  history: readonly BootHistoryRow[],
  window: DigestWindow,
  policy: RegressionPolicy,
): PartSummary<BootTestSummary> {
  const rows = history
    .filter((row) => inWindow(row.testedAt, window))
    .sort((a, b) =>
      a.seriesKey === b.seriesKey
        ? a.instanceType.localeCompare(b.instanceType)
        : a.seriesKey.localeCompare(b.seriesKey),
    );
  if (rows.length === 0) return { notes: [`No boot test was recorded between ${window.from} and ${window.to}.`] };

  const points = history.map(toBootPoint).filter((p): p is BootPoint => p !== undefined);
  const regressions = rows
    .map(toBootPoint)
    .filter((p): p is BootPoint => p !== undefined)
    .map((point) => detectRegression(point, points, policy))
    .filter((verdict) => verdict.regressed)
    .map((verdict) => verdict.message ?? verdict.reason);
  const failing = rows.filter((r) => r.status === 'failed' || r.status === 'timeout');
  const notable = rows
    .filter((r) => r.status === 'passed' && r.median.bootSeconds !== undefined)
    .sort((a, b) => b.median.bootSeconds! - a.median.bootSeconds!)
    .slice(0, SLOWEST_LISTED)
    .map((r) => `${r.imageName} on ${r.instanceType}: ${r.median.bootSeconds!.toFixed(1)} s`);
  return {
    summary: {
      runs: rows.length,
      passed: rows.filter((r) => r.status === 'passed').length,
      failed: failing.length,
      skipped: rows.filter((r) => r.status === 'skipped').length,
      regressions,
      notable,
      failures: failing.map((r) => ({
        id: `${r.imageName} on ${r.instanceType}`,
        region: r.region,
        error: r.reason,
        code: r.status,
      })),
    },
    notes: [],
  };
}

/** Everything the week's digest is made from, already gathered. */
export interface WeeklyDigestInput {
  readonly window: DigestWindow;
  readonly subjectPrefix: string;
  readonly publish: PartSummary<PublishSummary>;
  readonly bootTest: PartSummary<BootTestSummary>;
  readonly prune: PartSummary<PruneSummary>;
  /** The week's audits; absent when the stack has no audit workflow. */
  readonly audit?: PartSummary<AuditSummary>;
  /** Parts whose data could not be read at all (e.g. an API error), one line each. */
  readonly unreadable?: readonly string[];
  /** Further parts (e.g. the reproducibility checks), after the three above. */
  readonly sections?: readonly DigestSection[];
}

/** The weekly mail: `renderDigest`, plus what was missing or unreadable this week, said in words. */
export function renderWeeklyDigest(input: WeeklyDigestInput): Digest {
  const rendered = renderDigest({
    weekEnding: input.window.to.slice(0, 10),
    subjectPrefix: input.subjectPrefix,
    publish: input.publish.summary,
    bootTest: input.bootTest.summary,
    prune: input.prune.summary,
    audit: input.audit?.summary,
  });
  const notes = [...input.publish.notes, ...input.bootTest.notes, ...(input.audit?.notes ?? []), ...input.prune.notes];
  const unreadable = input.unreadable ?? [];
  const sections = input.sections ?? [];
  const lines = [
    ...sections.flatMap((section) => section.lines),
    ...(notes.length ? ['Not reported', ...notes.map((n) => `  ${n}`), ''] : []),
    ...(unreadable.length ? ['Could not be read', ...unreadable.map((u) => `  ${u}`), ''] : []),
  ];
  if (lines.length === 0) return rendered;
  const headlines = sections.flatMap((section) => (section.headline ? [section.headline] : []));
  return {
    ...rendered,
    subject: headlines.length ? snsSubject(`${rendered.subject}, ${headlines.join(', ')}`) : rendered.subject,
    text: `${rendered.text}${lines.join('\n')}`,
    needsAttention: rendered.needsAttention || unreadable.length > 0 || sections.some((s) => s.needsAttention),
  };
}
