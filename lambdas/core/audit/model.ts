import type { PublishAction, PublishInventory, SnapshotSharing, SourceImage } from '../publish/model';

/** What can be wrong with a current build in a region. */
export type FindingKind =
  | 'missing-copy'
  | 'duplicate-copy'
  | 'copy-not-available'
  | 'private-image'
  | 'private-snapshot'
  | 'missing-tags'
  | 'missing-deprecation'
  | 'stale-parameter'
  | 'missing-parameter';

/** Every finding kind, in the order reports list them. */
export const FINDING_KINDS = [
  'missing-copy',
  'copy-not-available',
  'duplicate-copy',
  'private-image',
  'private-snapshot',
  'missing-tags',
  'missing-deprecation',
  'missing-parameter',
  'stale-parameter',
] as const satisfies readonly FindingKind[];

/** A source image of the build region, with whether publish has taken it on (a ledger row or the legacy tag). */
export interface AuditSource extends SourceImage {
  readonly published: boolean;
}

/** One region as the audit reads it: every image we own there, the parameters under the prefix, snapshot sharing. */
export interface AuditRegionInventory extends PublishInventory {
  /** Snapshot block public access of the region; `unblocked` when not given. */
  readonly snapshotSharing?: SnapshotSharing;
}

/** Everything `planAudit` looks at. */
export interface AuditInventory {
  readonly sources: readonly AuditSource[];
  readonly regions: readonly AuditRegionInventory[];
}

/** How a finding is repaired: through the publish copy path, or one publish change. */
export type AuditRepair =
  | { readonly kind: 'copy'; readonly sourceImageId: string }
  | { readonly kind: 'recopy'; readonly sourceImageId: string; readonly imageId: string }
  | { readonly kind: 'change'; readonly action: PublishAction };

/** One thing wrong with a current build in one region, with the repair planned for it or why there is none. */
export interface AuditFinding {
  readonly kind: FindingKind;
  readonly region: string;
  readonly series: string;
  readonly name: string;
  readonly sourceImageId: string;
  /** The images (and snapshots) concerned in the region; empty for a missing copy. */
  readonly imageIds: readonly string[];
  readonly reason: string;
  readonly repair?: AuditRepair;
  /** Why the finding cannot be repaired, when it cannot. */
  readonly unrepairable?: string;
}

/** A build the audit checks, with why it is current. */
export interface AuditedBuild {
  readonly imageId: string;
  readonly name: string;
  readonly reason: string;
}

/** A build of the build region the audit leaves out, with why. */
export interface SkippedBuild {
  readonly imageId: string;
  readonly name: string;
  readonly reason: string;
}

/** Which builds of the build region are current. */
export interface BuildSelection {
  readonly builds: readonly AuditedBuild[];
  readonly skipped: readonly SkippedBuild[];
}

/** The findings of one region. */
export interface RegionAudit {
  readonly region: string;
  readonly findings: readonly AuditFinding[];
}

/** The audit: the builds checked, the builds left out, and the findings per region. */
export interface AuditPlan extends BuildSelection {
  readonly regions: readonly RegionAudit[];
}
