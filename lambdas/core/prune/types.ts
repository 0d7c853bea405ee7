import type { ManagedTag } from '../tags';
import type { NamingProfile } from '../naming/types';

/** One AMI owned by the account, as the inventory read it. */
export interface InventoryImage {
  readonly imageId: string;
  readonly name: string;
  readonly ownerId: string;
  /** `available`, `disabled`, `pending`, `failed`, ... */
  readonly state: string;
  readonly creationDate?: string;
  /** ISO timestamp of the most recent launch, when EC2 reports it. */
  readonly lastLaunchedTime?: string;
  /** `enabled`, `enabled-with-cooldown` or `disabled`. */
  readonly deregistrationProtection?: string;
  readonly public: boolean;
  readonly snapshotIds: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

/** One EBS snapshot owned by the account. */
export interface InventorySnapshot {
  readonly snapshotId: string;
  readonly ownerId: string;
  readonly description?: string;
  /** ISO timestamp the snapshot was started. */
  readonly startTime?: string;
  readonly volumeSizeGiB: number;
  /** Full size in bytes where the API gives it. */
  readonly fullSizeBytes?: number;
  readonly tags: Readonly<Record<string, string>>;
}

/** Everything the planner needs to know about one region. */
export interface PruneInventory {
  readonly region: string;
  readonly accountId: string;
  readonly images: readonly InventoryImage[];
  readonly snapshots: readonly InventorySnapshot[];
  /** AMI id -> SSM parameter names under the configured prefix that point at it. */
  readonly ssmReferences: Readonly<Record<string, readonly string[]>>;
}

/** Retention and safety settings the planner applies; built from configuration by `prunePolicy`. */
export interface PrunePolicy {
  readonly profile: NamingProfile;
  readonly managedTag: ManagedTag;
  readonly keepNewest: number;
  readonly minAgeDays: number;
  readonly prereleaseGraceDays: number;
  /** Release version -> end-of-life date `YYYY-MM-DD`. */
  readonly releaseEndOfLife: Readonly<Record<string, string>>;
  /** Development line (`13-STABLE`) -> end-of-life date `YYYY-MM-DD`; after it the line's builds lose keep-newest. */
  readonly lineEndOfLife: Readonly<Record<string, string>>;
  readonly orphanSnapshotGraceDays: number;
  /** 0 turns the rule off. */
  readonly keepLaunchedWithinDays: number;
  /** 0 deletes at once; otherwise images are first made private and tagged with a deletion date. */
  readonly softDeleteGraceDays: number;
  readonly maxDeletionsPerRun: number;
  readonly maxDeleteShare: number;
  /** Lets a region exceed `maxDeleteShare` (the first clean-up of a backlog). */
  readonly overrideBreaker: boolean;
  /**
   * Continues a run whose cap boundary was fixed when the run started: deletions sorting at or before this key are
   * in this run, whatever was deleted meanwhile. Replaces `maxDeletionsPerRun` when set.
   */
  readonly capBoundary?: string;
}

/** What happens to an image. `deferred`: would be deleted, but the per-run cap was reached. */
export type ImageAction = 'deregister' | 'soft-delete' | 'keep' | 'deferred';
export type SnapshotAction = 'delete' | 'keep' | 'deferred';

/** Why an image or snapshot is kept or deleted; stable codes for grouping in reports. */
export type PruneReason =
  // protections: an image with one of these is never deleted
  | 'unmanaged-name'
  | 'not-owned'
  | 'untagged'
  | 'ssm-referenced'
  | 'deregistration-protected'
  | 'recently-launched'
  | 'not-settled'
  | 'breaker'
  // retention rules that keep
  | 'newest-builds'
  | 'min-age'
  | 'release'
  | 'prerelease-awaiting-release'
  | 'prerelease-grace'
  | 'soft-delete-pending'
  | 'over-cap'
  // snapshot keeps
  | 'used-by-remaining-image'
  | 'snapshot-untagged'
  | 'snapshot-not-owned'
  | 'orphan-grace'
  | 'orphan-untagged'
  // deletions
  | 'aged-out'
  | 'prerelease-after-release'
  | 'release-end-of-life'
  | 'line-end-of-life'
  | 'soft-delete-due'
  | 'image-deregistered'
  | 'orphan';

export interface ImagePlanEntry {
  readonly imageId: string;
  readonly name: string;
  readonly action: ImageAction;
  readonly reason: PruneReason;
  /** One sentence an operator can read. */
  readonly detail: string;
  readonly seriesKey?: string;
  readonly lineKey?: string;
  /** Date the entry's age is measured from (build date in the name, release date, end-of-life date). */
  readonly ageDate?: string;
  readonly snapshotIds: readonly string[];
  /** Whether every snapshot of the image is planned for deletion, so DeleteAssociatedSnapshots is safe. */
  readonly deleteAllSnapshots: boolean;
  readonly public: boolean;
}

export interface SnapshotPlanEntry {
  readonly snapshotId: string;
  readonly action: SnapshotAction;
  readonly reason: PruneReason;
  readonly detail: string;
  /** Images (in this region) whose block device mappings use the snapshot. */
  readonly usedBy: readonly string[];
  readonly volumeSizeGiB: number;
  readonly fullSizeBytes?: number;
}

export interface BreakerDecision {
  readonly managedImages: number;
  readonly plannedDeletions: number;
  readonly share: number;
  readonly limit: number;
  /** The region's deletions were refused. */
  readonly tripped: boolean;
  /** The share was exceeded but an override let the deletions through. */
  readonly overridden: boolean;
}

export interface PruneRegionPlan {
  readonly region: string;
  readonly images: readonly ImagePlanEntry[];
  readonly snapshots: readonly SnapshotPlanEntry[];
  readonly breaker: BreakerDecision;
}

/** A development line whose end-of-life date has passed. */
export interface RetiredLine {
  /** e.g. `13-STABLE`. */
  readonly line: string;
  readonly endOfLife: string;
}

/** A whole prune plan, oldest deletions first within each region. */
export interface PrunePlan {
  readonly now: string;
  readonly regions: readonly PruneRegionPlan[];
  /** Lines past their end-of-life date, oldest date first, whether or not any of their builds is left. */
  readonly retiredLines: readonly RetiredLine[];
  /** Sort key of the last deletion inside the cap; pass it back as `capBoundary` to continue the same run. */
  readonly capBoundary?: string;
  /** Deletions left for a later run by the cap. */
  readonly deferred: number;
}
