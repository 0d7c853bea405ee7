import {
  type AuditedBuild,
  type AuditFinding,
  type AuditSource,
  auditRegion,
  type RegionAuditReport,
  type ReportedFinding,
  regionReport,
  reportFinding,
  selectAuditedBuilds,
  settleFindings,
} from '../../core/audit';
import { describeError } from '../../core/errors';
import {
  ACTION_ORDER,
  advanceCopies,
  type CopyProgress,
  copiesPending,
  type PublishAction,
  regionHorizonMinutes,
} from '../../core/publish';
import { mapLimit } from '../../shared/concurrency';
import { applyInOrder, targetOf } from '../publish/apply';
import type { PublishContext } from '../publish/context';
import { deregisterCopy } from '../publish/copy';
import type { PairUpdate } from '../publish/ledger';
import { copyLimits, pollRegion, type RegionProgress, startQueued } from '../publish/service';
import { loadAuditedBuilds, readAuditRegion, readAuditSources } from './inventory';

/** What the audit's first step hands on: the current builds by id, and why each is current (bounded). */
export interface AuditDiscovery {
  readonly images: string[];
  readonly count: number;
  readonly builds: AuditedBuild[];
  /** Builds left out (older builds of a line, releases past their end of life, builds not yet published). */
  readonly skipped: number;
}

/** One region's audit between its steps: the first look's findings and the copies it started. */
export interface AuditRegionState {
  readonly region: string;
  readonly runId: string;
  readonly repair: boolean;
  readonly images: string[];
  readonly pollSeconds: number;
  readonly pending: boolean;
  readonly waitSeconds: number;
  readonly found: ReportedFinding[];
  /** Copies started to repair missing ones, polled as publish polls its copies. */
  readonly copy?: RegionProgress;
}

const MAX_LISTED_BUILDS = 100;
/** Images whose changes are applied at once in a region, as publish does. */
const IMAGES_AT_ONCE = 10;

/** The current builds: every managed source of the build region that publish took on, selected by the core. */
export async function discoverAudit(ctx: PublishContext): Promise<AuditDiscovery> {
  const sources = await readAuditSources(ctx);
  const selection = selectAuditedBuilds(sources, ctx.config, ctx.now());
  ctx.logger.info('audit builds selected', { builds: selection.builds.length, skipped: selection.skipped.length });
  return {
    images: selection.builds.map((b) => b.imageId),
    count: selection.builds.length,
    builds: selection.builds.slice(0, MAX_LISTED_BUILDS),
    skipped: selection.skipped.length,
  };
}

function sameAction(a: PublishAction, b: PublishAction): boolean {
  return a.kind === b.kind && targetOf(a) === targetOf(b);
}

/**
 * Applies the change repairs of `findings` through the publish executor: each build's changes in publish's order,
 * stopping at the first that fails (so SSM never moves to an image left private). Returns each finding's outcome.
 */
async function applyChanges(
  ctx: PublishContext,
  region: string,
  findings: readonly AuditFinding[],
): Promise<Map<AuditFinding, { ok: boolean; cause?: string }>> {
  const outcomes = new Map<AuditFinding, { ok: boolean; cause?: string }>();
  const changes = findings.filter((f) => f.repair?.kind === 'change' && !f.unrepairable);
  const bySource = new Map<string, AuditFinding[]>();
  for (const finding of changes)
    bySource.set(finding.sourceImageId, [...(bySource.get(finding.sourceImageId) ?? []), finding]);
  // Images in parallel as publish applies them, each image's changes in order.
  await mapLimit([...bySource.values()], IMAGES_AT_ONCE, async (group) => {
    const actions = ACTION_ORDER.flatMap((kind) =>
      group.flatMap((f) => (f.repair?.kind === 'change' && f.repair.action.kind === kind ? [f.repair.action] : [])),
    );
    const result = await applyInOrder(ctx, region, actions);
    for (const finding of group) {
      if (finding.repair?.kind !== 'change') continue;
      const action = finding.repair.action;
      if (result.failure && sameAction(result.failure.action, action)) {
        const code = result.failure.code && !result.failure.error.includes(result.failure.code);
        outcomes.set(finding, {
          ok: false,
          cause: `${code ? `${result.failure.code}: ` : ''}${result.failure.error}`,
        });
      } else if (result.skipped.some((a) => sameAction(a, action))) {
        outcomes.set(finding, { ok: false, cause: `not done: ${result.failure?.action.kind} failed before it` });
      } else outcomes.set(finding, { ok: true });
    }
  });
  return outcomes;
}

/**
 * Starts the copies that repair missing (and failed) copies, through publish's copy path: a failed copy is
 * deregistered first, each copy carries the run's ClientToken and publish's tags, at most `publish.copyConcurrency`
 * at once. Returns the region's copy progress, which publish's poll advances.
 */
async function startCopies(
  ctx: PublishContext,
  state: { readonly region: string; readonly runId: string; readonly pollSeconds: number },
  findings: readonly AuditFinding[],
  builds: readonly AuditSource[],
): Promise<{ progress?: RegionProgress; causes: Map<string, string> }> {
  const { region, runId } = state;
  const causes = new Map<string, string>();
  const queued: CopyProgress[] = [];
  for (const finding of findings) {
    const repair = finding.repair;
    if (repair?.kind !== 'copy' && repair?.kind !== 'recopy') continue;
    if (repair.kind === 'recopy') {
      try {
        await deregisterCopy(ctx, region, repair.imageId);
      } catch (error) {
        causes.set(finding.sourceImageId, `failed copy not removed: ${describeError(error).message}`);
        continue;
      }
    }
    queued.push({ source: finding.sourceImageId, name: finding.name, attempt: 0, state: 'queued' });
  }
  if (queued.length === 0) return { causes };
  const step = advanceCopies(queued, {}, copyLimits(ctx));
  const copies = await startQueued(ctx, region, runId, step.copies, step.start, builds);
  for (const copy of copies) if (copy.state === 'failed') causes.set(copy.source, copy.error ?? 'copy failed');
  const now = ctx.now();
  return {
    causes,
    progress: {
      region,
      runId,
      images: queued.map((c) => c.source),
      pollSeconds: state.pollSeconds,
      waitSeconds: 0,
      polls: 0,
      endsAt: new Date(now.getTime() + regionHorizonMinutes(ctx.config.publish) * 60_000).toISOString(),
      pending: copiesPending(copies),
      copies,
    },
  };
}

/**
 * First look at a region: read what is there, find what is wrong with the current builds and, when repairing, apply
 * every change publish would have made and start the missing copies. Copies are polled by the workflow; the last
 * step looks again.
 */
export async function inspectRegion(
  ctx: PublishContext,
  input: {
    readonly region: string;
    readonly runId: string;
    readonly repair: boolean;
    readonly images: readonly string[];
    readonly pollSeconds: number;
  },
): Promise<AuditRegionState> {
  const { region, repair } = input;
  const builds = await loadAuditedBuilds(ctx, input.images);
  const inventory = await readAuditRegion(ctx, region, builds);
  const { findings } = auditRegion(inventory, builds, ctx.config, ctx.now(), ctx.profile);
  const base = { ...input, images: [...input.images], pending: false, waitSeconds: 0 };
  ctx.logger.info('region audited', { region, findings: findings.length, repair });
  if (!repair) return { ...base, found: findings.map((f) => reportFinding(f, 'not-asked')) };
  const changed = await applyChanges(ctx, region, findings);
  const { progress, causes } = await startCopies(ctx, input, findings, builds);
  const found = findings.map((finding) => {
    const change = changed.get(finding);
    if (change) return reportFinding(finding, change.ok ? 'repaired' : 'failed', change.cause);
    const cause = causes.get(finding.sourceImageId);
    const copying = finding.repair?.kind === 'copy' || finding.repair?.kind === 'recopy';
    return reportFinding(finding, copying && !cause ? 'repaired' : 'failed', cause);
  });
  return {
    ...base,
    found,
    copy: progress,
    pending: progress?.pending ?? false,
    waitSeconds: progress?.waitSeconds ?? 0,
  };
}

/** One poll of the region's repair copies, by publish's poll (retries and timeouts included). */
export async function pollAudit(ctx: PublishContext, state: AuditRegionState): Promise<AuditRegionState> {
  if (!state.copy) return { ...state, pending: false };
  const copy = await pollRegion(ctx, state.copy);
  return { ...state, copy, pending: copy.pending, waitSeconds: copy.waitSeconds };
}

/**
 * Last step in a region: without repair, the first look is the report. With repair, look again now that the copies
 * are done, apply what the new copies still need (tags, permissions, deprecation, SSM), record each build brought in
 * order as published in the ledger, and report each finding of the first look as repaired or not, with the cause.
 */
export async function settleRegion(ctx: PublishContext, state: AuditRegionState): Promise<RegionAuditReport> {
  const { region, runId } = state;
  if (!state.repair) return regionReport(region, state.found);
  const builds = await loadAuditedBuilds(ctx, state.images);
  const inventory = await readAuditRegion(ctx, region, builds);
  const { findings } = auditRegion(inventory, builds, ctx.config, ctx.now(), ctx.profile);
  const changed = await applyChanges(ctx, region, findings);
  const copyErrors = new Map(
    (state.copy?.copies ?? []).flatMap((c) => (c.state === 'failed' ? [[c.source, c.error ?? 'copy failed']] : [])),
  );
  const remaining = findings.flatMap((finding): ReportedFinding[] => {
    const change = changed.get(finding);
    if (change?.ok) return [];
    if (change) return [reportFinding(finding, 'failed', change.cause)];
    const cause =
      copyErrors.get(finding.sourceImageId) ??
      (finding.repair ? 'the copy did not complete in this run' : finding.unrepairable);
    return [reportFinding(finding, 'failed', cause)];
  });
  const outcomes = settleFindings(state.found, remaining);
  const open = new Set(remaining.map((f) => f.sourceImageId));
  const at = ctx.now();
  const updates: PairUpdate[] = [];
  for (const build of builds) {
    const touched = state.found.some((f) => f.sourceImageId === build.imageId && f.outcome !== 'not-repairable');
    const image = inventory.images.find((i) => i.name === build.name && i.state === 'available');
    if (!touched || open.has(build.imageId) || !image) continue;
    updates.push({
      source: build.imageId,
      region,
      status: 'published',
      sourceName: build.name,
      imageId: image.imageId,
      runId,
      at,
    });
  }
  await ctx.ledger.record(updates);
  const report = regionReport(region, outcomes);
  ctx.logger.info('region settled', {
    region,
    found: report.found,
    repaired: report.repaired,
    unrepaired: report.unrepaired,
    recorded: updates.length,
  });
  return report;
}
