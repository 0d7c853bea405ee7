import type { ItemFailure } from '../errors';
import { lineOf } from './plan';
import type { BreakerDecision, PrunePlan, PruneRegionPlan } from './types';

/** A snapshot the executor deleted, with its size for the reclaimed total. */
export interface DeletedSnapshot {
  readonly snapshotId: string;
  readonly volumeSizeGiB: number;
  readonly fullSizeBytes?: number;
}

/** What executing one region's plan did; the adapter fills it, batch by batch. */
export interface RegionExecution {
  readonly region: string;
  readonly deregistered: string[];
  readonly softDeleted: string[];
  readonly snapshotsDeleted: DeletedSnapshot[];
  /** Snapshots EC2 refused with InvalidSnapshot.InUse: kept, and reported. */
  readonly snapshotsInUse: string[];
  readonly failed: ItemFailure[];
  /** False when the time budget ran out first; the next batch continues. */
  readonly complete: boolean;
}

/** The per-region figures an operator reads after a run. */
export interface RegionReport {
  readonly region: string;
  readonly imagesDeregistered: number;
  readonly imagesSoftDeleted: number;
  readonly snapshotsDeleted: number;
  /** Sum of the deleted snapshots' volume sizes. */
  readonly gibReclaimed: number;
  /** Sum of full snapshot sizes where the API reported them. */
  readonly fullBytesReclaimed: number;
  readonly keptByReason: Readonly<Record<string, number>>;
  /** Images the pipeline does not manage: names it cannot parse and parseable images without the managed tag. */
  readonly unmanagedFound: number;
  readonly remainingOverCap: number;
  readonly breaker: BreakerDecision;
  readonly snapshotsInUse: readonly string[];
  readonly failures: readonly ItemFailure[];
  /** Set when the whole region could not be worked on (inventory failed, region unreachable). */
  readonly error?: string;
}

/** What a development line past its end of life still held when the run planned, in every region together. */
export interface RetiredLineReport {
  readonly line: string;
  readonly endOfLife: string;
  /** Images of the line found (every region). */
  readonly images: number;
  /** Snapshots those images use. */
  readonly snapshots: number;
  /** Sum of those snapshots' volume sizes. */
  readonly gib: number;
  /** Images of the line this run deregisters or soft-deletes (or would, in a dry run). */
  readonly imagesDeleted: number;
  /** Images of the line kept anyway, by reason (minimum age, SSM, protection, recent launch, cap, ...). */
  readonly keptByReason: Readonly<Record<string, number>>;
}

export interface PruneReport {
  readonly now: string;
  readonly dryRun: boolean;
  readonly regions: readonly RegionReport[];
  /** Development lines past their end of life and what they held; empty when none is configured or due. */
  readonly retiredLines: readonly RetiredLineReport[];
  readonly totals: {
    readonly imagesDeregistered: number;
    readonly snapshotsDeleted: number;
    readonly gibReclaimed: number;
    readonly remainingOverCap: number;
    readonly failures: number;
  };
}

function count<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

function regionReport(plan: PruneRegionPlan, execution: RegionExecution | undefined, dryRun: boolean): RegionReport {
  const kept = [
    ...plan.images.filter((i) => i.action === 'keep'),
    ...plan.snapshots.filter((s) => s.action === 'keep').map((s) => ({ reason: `snapshot:${s.reason}` })),
  ];
  const deleted = dryRun ? [] : (execution?.snapshotsDeleted ?? []);
  const plannedSnapshots = plan.snapshots.filter((s) => s.action === 'delete');
  return {
    region: plan.region,
    imagesDeregistered: dryRun
      ? plan.images.filter((i) => i.action === 'deregister').length
      : (execution?.deregistered.length ?? 0),
    imagesSoftDeleted: dryRun
      ? plan.images.filter((i) => i.action === 'soft-delete').length
      : (execution?.softDeleted.length ?? 0),
    snapshotsDeleted: dryRun ? plannedSnapshots.length : deleted.length,
    gibReclaimed: (dryRun ? plannedSnapshots : deleted).reduce((sum, s) => sum + s.volumeSizeGiB, 0),
    fullBytesReclaimed: (dryRun ? plannedSnapshots : deleted).reduce((sum, s) => sum + (s.fullSizeBytes ?? 0), 0),
    keptByReason: count(kept, (k) => k.reason),
    unmanagedFound: plan.images.filter((i) => i.reason === 'unmanaged-name' || i.reason === 'untagged').length,
    // Counted like the cap counts: images, and orphan snapshots; an image's snapshots follow it.
    remainingOverCap:
      plan.images.filter((i) => i.action === 'deferred').length +
      plan.snapshots.filter((s) => s.action === 'deferred' && s.usedBy.length === 0).length,
    breaker: plan.breaker,
    snapshotsInUse: execution?.snapshotsInUse ?? [],
    failures: execution?.failed ?? [],
  };
}

function retiredLineReports(plan: PrunePlan): RetiredLineReport[] {
  return plan.retiredLines.map(({ line, endOfLife }) => {
    let images = 0;
    let imagesDeleted = 0;
    let snapshots = 0;
    let gib = 0;
    const keptByReason: Record<string, number> = {};
    for (const region of plan.regions) {
      const ofLine = region.images.filter((i) => i.lineKey !== undefined && lineOf(i.lineKey) === line);
      const used = new Set(ofLine.flatMap((i) => i.snapshotIds));
      images += ofLine.length;
      for (const image of ofLine) {
        if (image.action === 'deregister' || image.action === 'soft-delete') imagesDeleted += 1;
        else keptByReason[image.reason] = (keptByReason[image.reason] ?? 0) + 1;
      }
      for (const snapshot of region.snapshots.filter((s) => used.has(s.snapshotId))) {
        snapshots += 1;
        gib += snapshot.volumeSizeGiB;
      }
    }
    return { line, endOfLife, images, snapshots, gib, imagesDeleted, keptByReason };
  });
}

/**
 * The run's report: per region what was (or, in a dry run, would be) deregistered and deleted, GiB reclaimed, what
 * was kept and why, unmanaged images found, deletions left over by the cap, failures, and what each development line
 * past its end of life held.
 */
export function pruneReport(
  plan: PrunePlan,
  executions: readonly RegionExecution[],
  options: { dryRun: boolean; failedRegions?: readonly { region: string; error: string }[] },
): PruneReport {
  const byRegion = new Map(executions.map((e) => [e.region, e]));
  const regions: RegionReport[] = plan.regions.map((r) => regionReport(r, byRegion.get(r.region), options.dryRun));
  for (const failed of options.failedRegions ?? []) {
    regions.push({
      region: failed.region,
      imagesDeregistered: 0,
      imagesSoftDeleted: 0,
      snapshotsDeleted: 0,
      gibReclaimed: 0,
      fullBytesReclaimed: 0,
      keptByReason: {},
      unmanagedFound: 0,
      remainingOverCap: 0,
      breaker: { managedImages: 0, plannedDeletions: 0, share: 0, limit: 0, tripped: false, overridden: false },
      snapshotsInUse: [],
      failures: [{ id: failed.region, region: failed.region, error: failed.error }],
      error: failed.error,
    });
  }
  regions.sort((a, b) => a.region.localeCompare(b.region));
  const sum = (key: (r: RegionReport) => number) => regions.reduce((total, r) => total + key(r), 0);
  return {
    now: plan.now,
    dryRun: options.dryRun,
    regions,
    retiredLines: retiredLineReports(plan),
    totals: {
      imagesDeregistered: sum((r) => r.imagesDeregistered),
      snapshotsDeleted: sum((r) => r.snapshotsDeleted),
      gibReclaimed: sum((r) => r.gibReclaimed),
      remainingOverCap: sum((r) => r.remainingOverCap),
      failures: sum((r) => r.failures.length),
    },
  };
}
