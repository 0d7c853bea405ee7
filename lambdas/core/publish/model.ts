import type { ParsedImageName } from '../naming/types';

/** EC2's spelling of an architecture, as in DescribeImages and the uploader's SNS message. */
export type Ec2Architecture = 'x86_64' | 'arm64';

/** A source image in the build region that the workflow publishes. */
export interface SourceImage {
  readonly imageId: string;
  readonly region: string;
  readonly name: string;
  readonly description?: string;
  readonly architecture: Ec2Architecture;
  readonly parsed: ParsedImageName;
  readonly gitBranch?: string;
  readonly gitRevision?: string;
  readonly snapshotIds: readonly string[];
  /** When the source was registered (ISO), from which discovery counts its age. */
  readonly createdAt?: string;
}

/** One image we own in a region, as much of its state as publishing needs. */
export interface RegionImage {
  readonly imageId: string;
  readonly name: string;
  /** `pending`, `available`, `failed`, ... as EC2 reports it. */
  readonly state: string;
  readonly public: boolean;
  readonly snapshotIds: readonly string[];
  /** Snapshots of this image that already grant `createVolumePermission` to group `all`. */
  readonly publicSnapshotIds: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  /** Tags of each snapshot, by snapshot id. */
  readonly snapshotTags: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly deprecationTime?: string;
  readonly encrypted?: boolean;
}

/** What an SSM parameter currently points at, with the name of that image when it could be found. */
export interface SsmPointer {
  readonly imageId: string;
  readonly imageName?: string;
}

/** Everything publishing reads in one region before deciding what to do there. */
export interface PublishInventory {
  readonly region: string;
  /** Images we own whose names are among the sources' names. */
  readonly images: readonly RegionImage[];
  /** Current values of the SSM parameters the sources map to; absent names do not exist yet. */
  readonly ssm: Readonly<Record<string, SsmPointer>>;
}

/** Publishing options read from the configuration (a subset, so the planner is easy to test). */
export interface PublishOptions {
  readonly buildRegion: string;
  readonly makeAmiPublic: boolean;
  readonly makeSnapshotPublic: boolean;
  readonly deprecateAfterDays: number;
  readonly ssmPrefix: string;
  readonly managedTag: { readonly key: string; readonly value: string };
}

/**
 * Snapshot block public access of a region (`GetSnapshotBlockPublicAccessState`): `unblocked`, `block-new-sharing`
 * (no snapshot can be made public; those already public stay so), `block-all-sharing` (no snapshot is public, whatever
 * its attribute says), or `unknown` when it could not be read.
 */
export type SnapshotSharing = 'unblocked' | 'block-new-sharing' | 'block-all-sharing' | 'unknown';

/** One change the workflow makes in a region, with why. */
export type PublishAction =
  | { readonly kind: 'launch-permission'; readonly imageId: string; readonly reason: string }
  | { readonly kind: 'snapshot-permission'; readonly snapshotId: string; readonly reason: string }
  | {
      readonly kind: 'tag';
      readonly resourceIds: readonly string[];
      readonly tags: Readonly<Record<string, string>>;
      readonly reason: string;
    }
  | { readonly kind: 'deprecate'; readonly imageId: string; readonly deprecateAt: string; readonly reason: string }
  | { readonly kind: 'ssm'; readonly parameter: string; readonly imageId: string; readonly reason: string };

export type PublishActionKind = PublishAction['kind'];

/** How an image gets into a region: it is the source itself, a copy exists, or a copy must be made. */
export interface CopyDecision {
  readonly action: 'source' | 'exists' | 'copy' | 'recopy';
  readonly imageId?: string;
  readonly state?: string;
  readonly reason: string;
}

/** What publishing one source image in one region takes. */
export interface ImagePlan {
  readonly sourceImageId: string;
  readonly name: string;
  readonly region: string;
  readonly copy: CopyDecision;
  /** Changes to make now (the image is available), in the order they are applied. */
  readonly actions: readonly PublishAction[];
  /** Kinds of change that will follow once a copy being made is available. */
  readonly afterCopy: readonly PublishActionKind[];
  /** Why the image cannot be published as configured here, whatever is applied (e.g. snapshot sharing blocked). */
  readonly blocked: readonly string[];
  /** Why nothing else is needed, when nothing is. */
  readonly reason: string;
}

/** The plan for one region. */
export interface PublishRegionPlan {
  readonly region: string;
  readonly images: readonly ImagePlan[];
}

/** The whole plan: per region, per image. */
export interface PublishPlan {
  readonly sources: readonly { readonly imageId: string; readonly name: string }[];
  readonly regions: readonly PublishRegionPlan[];
}
