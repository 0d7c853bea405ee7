import type {
  BlockDeviceMapping,
  CopyImageRequest,
  CopyImageResult,
  DeleteSnapshotRequest,
  DeleteSnapshotReturnCode,
  DeregisterImageRequest,
  DeregisterImageResult,
  DescribeImageAttributeRequest,
  DescribeImagesRequest,
  DescribeImagesResult,
  DescribeSnapshotAttributeRequest,
  DescribeSnapshotAttributeResult,
  DescribeSnapshotsRequest,
  DescribeSnapshotsResult,
  DisableImageDeprecationRequest,
  EnableImageDeprecationRequest,
  Image,
  ImageAttribute,
  ImageState as SdkImageState,
  LaunchPermission,
  ModifyImageAttributeRequest,
  ModifySnapshotAttributeRequest,
  RegisterImageRequest,
  RegisterImageResult,
  Snapshot,
  TagSpecification,
} from '@aws-sdk/client-ec2';
import {
  applyTags,
  compileFilters,
  type FilterFields,
  paginate,
  queryKey,
  stableJson,
  tagFields,
  toTagList,
} from './ec2-common';
import { fault } from './errors';
import {
  type ImageState,
  type RegionState,
  type SimImage,
  type SimMapping,
  type SimSnapshot,
  type SnapshotState,
  dateAt,
  isoAt,
  valueAt,
  type World,
} from './world';

const MINUTE = 60_000;
const GIB = 1024 ** 3;
const IMAGE_ID = /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/;
const SNAPSHOT_ID = /^snap-[0-9a-f]{8}([0-9a-f]{9})?$/;
// "3-128 alphanumeric characters, parentheses, square brackets, spaces, periods, slashes, dashes, single quotes,
// at-signs, or underscores" (RegisterImage / CopyImage, Name).
const IMAGE_NAME = /^[A-Za-z0-9()[\]. /\-'@_]{3,128}$/;

const IMAGE_FILTERS = new Set([
  'architecture',
  'block-device-mapping.delete-on-termination',
  'block-device-mapping.device-name',
  'block-device-mapping.snapshot-id',
  'block-device-mapping.volume-size',
  'block-device-mapping.volume-type',
  'block-device-mapping.encrypted',
  'creation-date',
  'description',
  'ena-support',
  'hypervisor',
  'image-id',
  'image-type',
  'is-public',
  'name',
  'owner-alias',
  'owner-id',
  'platform',
  'root-device-name',
  'root-device-type',
  'source-image-id',
  'source-image-region',
  'state',
  'state-reason-code',
  'virtualization-type',
]);

const SNAPSHOT_FILTERS = new Set([
  'description',
  'encrypted',
  'owner-alias',
  'owner-id',
  'progress',
  'snapshot-id',
  'start-time',
  'status',
  'storage-tier',
  'volume-id',
  'volume-size',
]);

/** The image's state at time `t`. */
export function imageStateAt(image: SimImage, t: number): ImageState {
  if (image.deregisteredAt !== undefined && t >= image.deregisteredAt) return 'deregistered';
  if (image.failedAt !== undefined && t >= image.failedAt) return 'failed';
  return t >= image.availableAt ? 'available' : 'pending';
}

/** The snapshot's state at time `t`. */
export function snapshotStateAt(snapshot: SimSnapshot, t: number): SnapshotState {
  if (snapshot.failedAt !== undefined && t >= snapshot.failedAt) return 'error';
  return t >= snapshot.completesAt ? 'completed' : 'pending';
}

const iso = isoAt;

/** How a scenario seeds an image without going through the API. */
export interface ImageSpec {
  readonly name: string;
  readonly description?: string;
  readonly architecture?: 'x86_64' | 'arm64';
  readonly bootMode?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** Root snapshot size in GiB (default 6, FreeBSD's image size) and the bytes it really holds. */
  readonly volumeSizeGiB?: number;
  readonly fullSizeBytes?: number;
  readonly snapshotTags?: Readonly<Record<string, string>>;
  readonly encrypted?: boolean;
  readonly public?: boolean;
  readonly snapshotPublic?: boolean;
  readonly createdAt?: number;
  readonly deprecationTime?: string;
  readonly sourceImageId?: string;
  readonly sourceRegion?: string;
  readonly ownerId?: string;
}

/** EC2's images and snapshots: the catalogue, copies and their physics, sharing and block public access. */
export class ImageModel {
  constructor(private readonly world: World) {}

  private get physics() {
    return this.world.physics;
  }

  // ---------------------------------------------------------------------------------------------------- lookups

  /**
   * The image `imageId` of `region` for an action on it: unknown ids answer InvalidAMIID.NotFound (or .Malformed),
   * deregistered ones InvalidAMIID.Unavailable, as EC2 does.
   */
  requireImage(region: RegionState, imageId: string | undefined, options: { allowFailed?: boolean } = {}): SimImage {
    if (!imageId || !IMAGE_ID.test(imageId))
      fault('InvalidAMIID.Malformed', `Invalid id: "${imageId ?? ''}" (expecting "ami-...")`);
    const image = region.images.get(imageId);
    const now = this.world.now();
    if (!image) {
      if (region.goneImages.has(imageId))
        fault('InvalidAMIID.Unavailable', `The image ID '${imageId}' is no longer available`);
      fault('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);
    }
    const state = imageStateAt(image, now);
    if (state === 'deregistered' || (state === 'failed' && !options.allowFailed))
      fault('InvalidAMIID.Unavailable', `The image ID '${imageId}' is no longer available`);
    return image;
  }

  requireSnapshot(region: RegionState, snapshotId: string | undefined): SimSnapshot {
    if (!snapshotId || !SNAPSHOT_ID.test(snapshotId))
      fault('InvalidSnapshotID.Malformed', `Invalid id: "${snapshotId ?? ''}" (expecting "snap-...")`);
    const snapshot = region.snapshots.get(snapshotId);
    if (!snapshot) fault('InvalidSnapshot.NotFound', `The snapshot '${snapshotId}' does not exist.`);
    return snapshot;
  }

  /** Whether a deregistered image is still listed at `t`; forgets it (keeping its id as gone) once it is not. */
  private visible(region: RegionState, image: SimImage, t: number): boolean {
    if (image.deregisteredAt === undefined || t < image.deregisteredAt + this.physics.images.deregisteredVisibleMs)
      return true;
    region.images.delete(image.imageId);
    region.goneImages.add(image.imageId);
    return false;
  }

  /** Copies pending in `region` at `t`. */
  copiesInFlight(region: RegionState, t: number): number {
    for (const id of region.copiesInFlight) {
      const image = region.images.get(id);
      if (!image || imageStateAt(image, t) !== 'pending') region.copiesInFlight.delete(id);
    }
    return region.copiesInFlight.size;
  }

  /** Image block public access as GetImageBlockPublicAccessState reports it, and as sharing obeys it, at `t`. */
  imageBlockPublicAccess(region: RegionState, t: number): 'unblocked' | 'block-new-sharing' {
    return valueAt(region.imageBlockPublicAccess, t);
  }

  /** The public AMI quota of `region`. */
  publicImageQuota(region: string): number {
    const quota = this.physics.images.publicImageQuota;
    return typeof quota === 'number' ? quota : (quota[region] ?? 5);
  }

  /**
   * Whether anyone outside the account can use the snapshot: shared with `all` and not hidden by block public access
   * in `block-all-sharing` mode, under which "the attributes for these snapshots still indicate that they are
   * publicly shared, even though they are not publicly available" (EnableSnapshotBlockPublicAccess docs).
   */
  isReallyPublic(region: RegionState, snapshot: SimSnapshot): boolean {
    return snapshot.sharedWithAll && region.snapshotBlockPublicAccess !== 'block-all-sharing';
  }

  // ---------------------------------------------------------------------------------------------------- writes

  private addSnapshot(
    region: RegionState,
    spec: {
      volumeSize: number;
      fullSizeBytes?: number;
      encrypted: boolean;
      description: string;
      startedAt: number;
      completesAt: number;
      failedAt?: number;
      volumeId?: string;
      tags?: Readonly<Record<string, string>>;
      ownerId?: string;
    },
  ): SimSnapshot {
    const snapshot: SimSnapshot = {
      snapshotId: this.world.newId('snap'),
      region: region.name,
      ownerId: spec.ownerId ?? this.world.accountId,
      seq: this.world.nextSeq(),
      volumeSize: spec.volumeSize,
      // A FreeBSD image holds about a third of its volume; EBS bills the blocks written.
      fullSizeBytes: spec.fullSizeBytes ?? Math.round(spec.volumeSize * GIB * 0.35),
      encrypted: spec.encrypted,
      description: spec.description,
      startedAt: spec.startedAt,
      completesAt: spec.completesAt,
      failedAt: spec.failedAt,
      // Snapshots made by copies and registrations have no volume of their own: EC2 shows vol-ffffffff.
      volumeId: spec.volumeId ?? 'vol-ffffffff',
      tags: new Map(Object.entries(spec.tags ?? {})),
      sharedWithAll: false,
      usedBy: [],
    };
    region.snapshots.set(snapshot.snapshotId, snapshot);
    return snapshot;
  }

  /** A snapshot made outside the API (a scenario's seed): an orphan, or the root of a seeded image. */
  seedSnapshot(
    region: RegionState,
    spec: {
      volumeSizeGiB: number;
      fullSizeBytes?: number;
      encrypted?: boolean;
      description?: string;
      createdAt?: number;
      tags?: Readonly<Record<string, string>>;
      public?: boolean;
      ownerId?: string;
    },
  ): SimSnapshot {
    const at = spec.createdAt ?? this.world.now();
    const snapshot = this.addSnapshot(region, {
      volumeSize: spec.volumeSizeGiB,
      fullSizeBytes: spec.fullSizeBytes,
      encrypted: spec.encrypted ?? false,
      description: spec.description ?? '',
      startedAt: at,
      completesAt: at,
      tags: spec.tags,
      ownerId: spec.ownerId,
    });
    snapshot.sharedWithAll = spec.public ?? false;
    return snapshot;
  }

  private addImage(region: RegionState, image: Omit<SimImage, 'seq' | 'region'>): SimImage {
    const stored = image as SimImage & { region: string; seq: number };
    stored.region = region.name;
    stored.seq = this.world.nextSeq();
    region.images.set(stored.imageId, stored);
    if (stored.ownerId === this.world.accountId) region.imageNames.set(stored.name, stored.imageId);
    for (const mapping of stored.mappings) {
      if (!mapping.snapshotId) continue;
      region.snapshots.get(mapping.snapshotId)?.usedBy.push(stored.imageId);
    }
    if (stored.public) region.publicImages.add(stored.imageId);
    return stored;
  }

  /** An available image with its root snapshot, made outside the API. */
  seedImage(region: RegionState, spec: ImageSpec): SimImage {
    const at = spec.createdAt ?? this.world.now();
    const size = spec.volumeSizeGiB ?? 6;
    const snapshot = this.seedSnapshot(region, {
      volumeSizeGiB: size,
      fullSizeBytes: spec.fullSizeBytes,
      encrypted: spec.encrypted,
      description: `Created by RegisterImage for ${spec.name}`,
      createdAt: at,
      tags: spec.snapshotTags ?? spec.tags,
      public: spec.snapshotPublic,
      ownerId: spec.ownerId,
    });
    const architecture = spec.architecture ?? 'x86_64';
    return this.addImage(region, {
      imageId: this.world.newId('ami'),
      ownerId: spec.ownerId ?? this.world.accountId,
      name: spec.name,
      description: spec.description,
      architecture,
      rootDeviceName: '/dev/sda1',
      virtualizationType: 'hvm',
      enaSupport: true,
      bootMode: spec.bootMode ?? (architecture === 'arm64' ? 'uefi' : 'uefi-preferred'),
      mappings: [
        {
          deviceName: '/dev/sda1',
          snapshotId: snapshot.snapshotId,
          volumeSize: size,
          volumeType: 'gp3',
          encrypted: spec.encrypted ?? false,
          deleteOnTermination: true,
        },
      ],
      tags: new Map(Object.entries(spec.tags ?? {})),
      public: spec.public ?? false,
      createdAt: at,
      availableAt: at,
      deprecationTime: spec.deprecationTime,
      sourceImageId: spec.sourceImageId,
      sourceRegion: spec.sourceRegion,
      copy: false,
    });
  }

  private checkName(region: RegionState, name: string | undefined): string {
    if (name === undefined) fault('MissingParameter', 'The request must contain the parameter Name');
    if (!IMAGE_NAME.test(name))
      fault(
        'InvalidAMIName.Malformed',
        `AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_'`,
      );
    const holder = region.imageNames.get(name);
    if (holder) fault('InvalidAMIName.Duplicate', `AMI name ${name} is already in use by AMI ${holder}`);
    return name;
  }

  RegisterImage(region: RegionState, input: RegisterImageRequest): RegisterImageResult {
    const name = this.checkName(region, input.Name);
    const now = this.world.now();
    const root = input.RootDeviceName ?? '/dev/sda1';
    const mappings: SimMapping[] = [];
    for (const mapping of input.BlockDeviceMappings ?? [{ DeviceName: root, Ebs: { VolumeSize: 8 } }]) {
      if (!mapping.Ebs) continue;
      let snapshotId = mapping.Ebs.SnapshotId;
      let size = mapping.Ebs.VolumeSize;
      let encrypted = mapping.Ebs.Encrypted ?? false;
      if (snapshotId) {
        const snapshot = this.requireSnapshot(region, snapshotId);
        size ??= snapshot.volumeSize;
        encrypted = snapshot.encrypted;
      } else if (mapping.DeviceName === root) {
        // Like the emulator, a root device without a snapshot gets one of the requested size, so the fleet helper
        // that registers images by size works here too; EC2 would refuse such an image.
        size ??= 8;
        snapshotId = this.seedSnapshot(region, {
          volumeSizeGiB: size,
          encrypted,
          description: `Created by RegisterImage for ${name}`,
        }).snapshotId;
      }
      mappings.push({
        deviceName: mapping.DeviceName ?? root,
        snapshotId,
        volumeSize: size ?? 8,
        volumeType: mapping.Ebs.VolumeType ?? 'gp3',
        encrypted,
        deleteOnTermination: mapping.Ebs.DeleteOnTermination ?? true,
      });
    }
    const imageId = this.world.newId('ami');
    const tags = new Map<string, string>();
    for (const spec of input.TagSpecifications ?? [])
      if (spec.ResourceType === 'image') applyTags(tags, spec.Tags, imageId);
    this.addImage(region, {
      imageId,
      ownerId: this.world.accountId,
      name,
      description: input.Description,
      architecture: input.Architecture ?? 'x86_64',
      rootDeviceName: root,
      virtualizationType: input.VirtualizationType ?? 'hvm',
      enaSupport: input.EnaSupport ?? false,
      bootMode: input.BootMode,
      imdsSupport: input.ImdsSupport,
      mappings,
      tags,
      public: false,
      createdAt: now,
      availableAt: now + this.world.draw(this.physics.images.registerMs, `register:${imageId}`),
      copy: false,
    });
    return { ImageId: imageId };
  }

  CopyImage(region: RegionState, input: CopyImageRequest, regionOf: (name: string) => RegionState): CopyImageResult {
    const now = this.world.now();
    const request = stableJson({ ...input, ClientToken: undefined });
    if (input.ClientToken) {
      // "A ClientToken is remembered after the request completes: the same token with the same parameters returns
      // the first result (even if that image was since deregistered)" (DESIGN.md, from the CopyImage docs).
      const known = region.copyTokens.get(input.ClientToken);
      if (known) {
        if (known.request !== request)
          fault(
            'IdempotentParameterMismatch',
            'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).',
          );
        return { ImageId: known.imageId };
      }
    }
    if (!input.SourceRegion) fault('MissingParameter', 'The request must contain the parameter SourceRegion');
    const sourceRegion = regionOf(input.SourceRegion);
    const source = this.requireImage(sourceRegion, input.SourceImageId);
    if (imageStateAt(source, now) !== 'available')
      fault(
        'IncorrectState',
        `Image ${source.imageId} is not in a state that can be copied (${imageStateAt(source, now)})`,
      );
    const name = this.checkName(region, input.Name);
    const limit = this.physics.images.maxConcurrentCopies;
    if (this.copiesInFlight(region, now) >= limit)
      fault(
        'ResourceLimitExceeded',
        `Too many AMI copies in progress. The limit is ${limit} for this destination region.`,
      );
    const imageId = this.world.newId('ami');
    const random = this.world.random(`copy:${imageId}`);
    const factor = this.physics.images.copyRegionFactor[region.name] ?? 1;
    const duration = this.world.draw(this.physics.images.copyMinutes, `copy-duration:${imageId}`) * MINUTE * factor;
    const fails = random.chance(this.physics.images.copyFailureRate);
    const failedAt = fails ? now + Math.max(1, duration * random.uniform(0.2, 1)) : undefined;
    const encrypted = (input.Encrypted ?? false) || region.encryptionByDefault;
    const snapshotTags = tagsFor(input.TagSpecifications, 'snapshot');
    const mappings = source.mappings.map((mapping): SimMapping => {
      if (!mapping.snapshotId) return mapping;
      const original = sourceRegion.snapshots.get(mapping.snapshotId);
      const copy = this.addSnapshot(region, {
        volumeSize: mapping.volumeSize,
        fullSizeBytes: original?.fullSizeBytes,
        encrypted: mapping.encrypted || encrypted,
        description: `Copied for DestinationAmi ${imageId} from SourceAmi ${source.imageId} for SourceSnapshot ${mapping.snapshotId}. Task created on ${Math.floor(now / 1000)}.`,
        startedAt: now,
        completesAt: now + duration,
        failedAt,
        tags: snapshotTags,
      });
      return { ...mapping, snapshotId: copy.snapshotId, encrypted: mapping.encrypted || encrypted };
    });
    const tags = new Map<string, string>();
    if (input.CopyImageTags) for (const [key, value] of source.tags) tags.set(key, value);
    applyTags(tags, tagList(input.TagSpecifications, 'image'), imageId);
    this.addImage(region, {
      imageId,
      ownerId: this.world.accountId,
      name,
      description: input.Description,
      architecture: source.architecture,
      rootDeviceName: source.rootDeviceName,
      virtualizationType: source.virtualizationType,
      enaSupport: source.enaSupport,
      bootMode: source.bootMode,
      imdsSupport: source.imdsSupport,
      mappings,
      tags,
      public: false,
      createdAt: now,
      availableAt: now + duration,
      failedAt,
      failure: fails
        ? { code: 'Server.InternalError', message: 'Server.InternalError: Copy of the snapshot did not complete' }
        : undefined,
      sourceImageId: source.imageId,
      sourceRegion: sourceRegion.name,
      copy: true,
    });
    region.copiesInFlight.add(imageId);
    if (input.ClientToken) region.copyTokens.set(input.ClientToken, { request, imageId });
    const inFlight = this.copiesInFlight(region, now);
    this.world.counters.add(`copiesStarted:${region.name}`);
    if (fails) this.world.counters.add(`copiesFailed:${region.name}`);
    this.world.counters.observe(`concurrentCopies:${region.name}`, inFlight);
    return { ImageId: imageId };
  }

  DeregisterImage(region: RegionState, input: DeregisterImageRequest): DeregisterImageResult {
    const image = this.requireImage(region, input.ImageId, { allowFailed: true });
    const now = this.world.now();
    image.deregisteredAt = now;
    if (region.imageNames.get(image.name) === image.imageId) region.imageNames.delete(image.name);
    region.publicImages.delete(image.imageId);
    region.copiesInFlight.delete(image.imageId);
    for (const mapping of image.mappings)
      if (mapping.snapshotId) release(region.snapshots.get(mapping.snapshotId), image.imageId);
    this.world.counters.add('imagesDeregistered');
    if (!input.DeleteAssociatedSnapshots) return { Return: true };
    const results = image.mappings.flatMap((mapping): DeleteSnapshotReturnCode[] => {
      if (!mapping.snapshotId || !region.snapshots.has(mapping.snapshotId)) return [];
      // "skipped - The snapshot was not deleted because it's associated with other AMIs" (DeleteSnapshotReturnCode).
      if ((region.snapshots.get(mapping.snapshotId)?.usedBy.length ?? 0) > 0)
        return [{ SnapshotId: mapping.snapshotId, ReturnCode: 'skipped' }];
      this.removeSnapshot(region, mapping.snapshotId);
      return [{ SnapshotId: mapping.snapshotId, ReturnCode: 'success' }];
    });
    return { Return: true, DeleteSnapshotResults: results };
  }

  private removeSnapshot(region: RegionState, snapshotId: string): void {
    const snapshot = region.snapshots.get(snapshotId);
    if (!snapshot) return;
    region.snapshots.delete(snapshotId);
    region.deletedSnapshots.add(snapshotId);
    this.world.counters.add('snapshotsDeleted');
    this.world.counters.add('snapshotGiBDeleted', snapshot.volumeSize);
    this.world.counters.add('snapshotBytesDeleted', snapshot.fullSizeBytes);
  }

  DeleteSnapshot(region: RegionState, input: DeleteSnapshotRequest): Record<string, never> {
    const snapshot = this.requireSnapshot(region, input.SnapshotId);
    if (snapshot.usedBy.length > 0)
      fault(
        'InvalidSnapshot.InUse',
        `The snapshot ${snapshot.snapshotId} is currently in use by ${snapshot.usedBy[0]}`,
      );
    this.removeSnapshot(region, snapshot.snapshotId);
    return {};
  }

  ModifyImageAttribute(region: RegionState, input: ModifyImageAttributeRequest): Record<string, never> {
    const image = this.requireImage(region, input.ImageId);
    if (input.Description?.Value !== undefined || input.Attribute === 'description') {
      image.description = input.Description?.Value ?? input.Value;
      return {};
    }
    const add: LaunchPermission[] = [...(input.LaunchPermission?.Add ?? [])];
    const remove: LaunchPermission[] = [...(input.LaunchPermission?.Remove ?? [])];
    if (input.OperationType) {
      const target = input.OperationType === 'add' ? add : remove;
      for (const group of input.UserGroups ?? []) target.push({ Group: group as 'all' });
      for (const userId of input.UserIds ?? []) target.push({ UserId: userId });
    }
    if (add.length === 0 && remove.length === 0)
      fault('MissingParameter', 'The request must contain a launch permission or a description to modify');
    for (const permission of remove) {
      if (permission.Group === 'all' && image.public) {
        image.public = false;
        region.publicImages.delete(image.imageId);
      }
      if (permission.UserId) image.launchUserIds?.delete(permission.UserId);
    }
    for (const permission of add) {
      if (permission.UserId) {
        image.launchUserIds ??= new Set();
        image.launchUserIds.add(permission.UserId);
      }
      if (permission.Group !== 'all' || image.public) continue;
      if (image.mappings.some((m) => m.encrypted))
        // packer#7410 / ods-core#1062: "UnsupportedOperation: Encrypted snapshots can't be shared publicly".
        fault('UnsupportedOperation', "Encrypted snapshots can't be shared publicly. Specify another snapshot.");
      if (this.imageBlockPublicAccess(region, this.world.now()) === 'block-new-sharing')
        // Quoted from an AWS answer in hortonworks/cloudbreak-images#926.
        fault(
          'OperationNotPermitted',
          "You can't publicly share this image because block public access for AMIs is enabled for this account. To publicly share the image, you must call the DisableImageBlockPublicAccess API.",
        );
      const quota = this.publicImageQuota(region.name);
      if (region.publicImages.size >= quota)
        // Quoted from AWS answers in NixOS/amis#37 and ava-labs/avalanche-cli#2317.
        fault(
          'ResourceLimitExceeded',
          `You have reached your quota of ${quota} for the number of public images allowed in this Region. Deregister unused public images or make them private, or request an increase in your public AMIs quota.`,
        );
      image.public = true;
      image.publicAt = this.world.now();
      region.publicImages.add(image.imageId);
    }
    return {};
  }

  DescribeImageAttribute(region: RegionState, input: DescribeImageAttributeRequest): ImageAttribute {
    const image = this.requireImage(region, input.ImageId, { allowFailed: true });
    switch (input.Attribute) {
      case 'launchPermission':
        return {
          ImageId: image.imageId,
          LaunchPermissions: [
            ...(image.public ? [{ Group: 'all' as const }] : []),
            ...[...(image.launchUserIds ?? [])].map((UserId) => ({ UserId })),
          ],
        };
      case 'description':
        return {
          ImageId: image.imageId,
          Description: image.description === undefined ? {} : { Value: image.description },
        };
      case 'lastLaunchedTime':
        return {
          ImageId: image.imageId,
          LastLaunchedTime: image.lastLaunchedAt === undefined ? {} : { Value: iso(image.lastLaunchedAt) },
        };
      case 'blockDeviceMapping':
        return { ImageId: image.imageId, BlockDeviceMappings: image.mappings.map(toMapping) };
      default:
        fault('InvalidParameterValue', `Value (${input.Attribute}) for parameter attribute is invalid.`);
    }
  }

  ModifySnapshotAttribute(region: RegionState, input: ModifySnapshotAttributeRequest): Record<string, never> {
    const snapshot = this.requireSnapshot(region, input.SnapshotId);
    if (input.Attribute !== undefined && input.Attribute !== 'createVolumePermission')
      fault('InvalidParameterValue', `Value (${input.Attribute}) for parameter attribute is invalid.`);
    const add = [...(input.CreateVolumePermission?.Add ?? [])];
    const remove = [...(input.CreateVolumePermission?.Remove ?? [])];
    if (input.OperationType) {
      const target = input.OperationType === 'add' ? add : remove;
      for (const group of input.GroupNames ?? []) target.push({ Group: group as 'all' });
      for (const userId of input.UserIds ?? []) target.push({ UserId: userId });
    }
    for (const permission of remove) {
      if (permission.Group === 'all') snapshot.sharedWithAll = false;
      if (permission.UserId) snapshot.userIds?.delete(permission.UserId);
    }
    for (const permission of add) {
      if (permission.UserId) {
        snapshot.userIds ??= new Set();
        snapshot.userIds.add(permission.UserId);
      }
      if (permission.Group !== 'all') continue;
      if (snapshot.encrypted)
        fault('UnsupportedOperation', "Encrypted snapshots can't be shared publicly. Specify another snapshot.");
      // "After you enable block public access for snapshots in a Region, users can no longer request public sharing
      // for snapshots in that Region", in either mode (EnableSnapshotBlockPublicAccess docs). The error code is not
      // documented; OperationNotPermitted is what the AMI equivalent answers.
      if (region.snapshotBlockPublicAccess !== 'unblocked')
        fault(
          'OperationNotPermitted',
          `You can't publicly share this snapshot because block public access for snapshots is enabled in ${region.snapshotBlockPublicAccess} mode for this account.`,
        );
      snapshot.sharedWithAll = true;
    }
    return {};
  }

  DescribeSnapshotAttribute(
    region: RegionState,
    input: DescribeSnapshotAttributeRequest,
  ): DescribeSnapshotAttributeResult {
    const snapshot = this.requireSnapshot(region, input.SnapshotId);
    if (input.Attribute === 'productCodes') return { SnapshotId: snapshot.snapshotId, ProductCodes: [] };
    if (input.Attribute !== 'createVolumePermission')
      fault('InvalidParameterValue', `Value (${input.Attribute}) for parameter attribute is invalid.`);
    return {
      SnapshotId: snapshot.snapshotId,
      CreateVolumePermissions: [
        ...(snapshot.sharedWithAll ? [{ Group: 'all' as const }] : []),
        ...[...(snapshot.userIds ?? [])].map((UserId) => ({ UserId })),
      ],
    };
  }

  EnableImageDeprecation(region: RegionState, input: EnableImageDeprecationRequest): { Return: boolean } {
    const image = this.requireImage(region, input.ImageId);
    if (!input.DeprecateAt) fault('MissingParameter', 'The request must contain the parameter DeprecateAt');
    const at = new Date(input.DeprecateAt).getTime();
    const now = this.world.now();
    // "If you specify a value for seconds, Amazon EC2 rounds the seconds to the nearest minute"; "you can't specify
    // a date in the past"; at most 10 years ahead (EnableImageDeprecation docs).
    if (at < now) fault('InvalidParameterValue', 'The deprecation time cannot be in the past');
    if (at > now + 10 * 365.25 * 24 * 60 * MINUTE)
      fault('InvalidParameterValue', 'The deprecation time cannot be more than 10 years in the future');
    image.deprecationTime = iso(Math.round(at / MINUTE) * MINUTE);
    return { Return: true };
  }

  DisableImageDeprecation(region: RegionState, input: DisableImageDeprecationRequest): { Return: boolean } {
    const image = this.requireImage(region, input.ImageId);
    image.deprecationTime = undefined;
    return { Return: true };
  }

  // ---------------------------------------------------------------------------------------------------- reads

  private imageFields(image: SimImage, state: ImageState): FilterFields {
    return (name) => {
      switch (name) {
        case 'architecture':
          return [image.architecture];
        case 'block-device-mapping.delete-on-termination':
          return image.mappings.map((m) => String(m.deleteOnTermination));
        case 'block-device-mapping.device-name':
          return image.mappings.map((m) => m.deviceName);
        case 'block-device-mapping.snapshot-id':
          return image.mappings.flatMap((m) => (m.snapshotId ? [m.snapshotId] : []));
        case 'block-device-mapping.volume-size':
          return image.mappings.map((m) => String(m.volumeSize));
        case 'block-device-mapping.volume-type':
          return image.mappings.map((m) => m.volumeType);
        case 'block-device-mapping.encrypted':
          return image.mappings.map((m) => String(m.encrypted));
        case 'creation-date':
          return [iso(image.createdAt)];
        case 'description':
          return image.description === undefined ? [] : [image.description];
        case 'ena-support':
          return [String(image.enaSupport)];
        case 'hypervisor':
          return ['xen'];
        case 'image-id':
          return [image.imageId];
        case 'image-type':
          return ['machine'];
        case 'is-public':
          return [String(image.public)];
        case 'name':
          return [image.name];
        case 'owner-alias':
          return [];
        case 'owner-id':
          return [image.ownerId];
        case 'platform':
          return [];
        case 'root-device-name':
          return [image.rootDeviceName];
        case 'root-device-type':
          return ['ebs'];
        case 'source-image-id':
          return image.sourceImageId ? [image.sourceImageId] : [];
        case 'source-image-region':
          return image.sourceRegion ? [image.sourceRegion] : [];
        case 'state':
          return [state];
        case 'state-reason-code':
          return state === 'failed' && image.failure ? [image.failure.code] : [];
        case 'virtualization-type':
          return [image.virtualizationType];
        default:
          return tagFields(image.tags, name);
      }
    };
  }

  private toImage(image: SimImage, state: ImageState): Image {
    return {
      ImageId: image.imageId,
      ImageLocation: `${image.ownerId}/${image.name}`,
      ImageType: 'machine',
      Name: image.name,
      Description: image.description,
      State: state as SdkImageState,
      StateReason:
        state === 'failed' && image.failure
          ? { Code: image.failure.code, Message: image.failure.message }
          : state === 'deregistered'
            ? { Code: 'Client.UserInitiatedShutdown', Message: 'Client.UserInitiatedShutdown: Image deregistered' }
            : undefined,
      OwnerId: image.ownerId,
      CreationDate: iso(image.createdAt),
      Public: image.public,
      Architecture: image.architecture as Image['Architecture'],
      PlatformDetails: 'Linux/UNIX',
      UsageOperation: 'RunInstances',
      BlockDeviceMappings: image.mappings.map(toMapping),
      EnaSupport: image.enaSupport,
      Hypervisor: 'xen',
      RootDeviceName: image.rootDeviceName,
      RootDeviceType: 'ebs',
      SriovNetSupport: 'simple',
      VirtualizationType: image.virtualizationType as Image['VirtualizationType'],
      BootMode: image.bootMode as Image['BootMode'],
      ImdsSupport: image.imdsSupport as Image['ImdsSupport'],
      DeprecationTime: image.deprecationTime,
      LastLaunchedTime: image.lastLaunchedAt === undefined ? undefined : iso(image.lastLaunchedAt),
      SourceImageId: image.sourceImageId,
      SourceImageRegion: image.sourceRegion,
      Tags: toTagList(image.tags),
    };
  }

  DescribeImages(region: RegionState, input: DescribeImagesRequest): DescribeImagesResult {
    const now = this.world.now();
    const account = this.world.accountId;
    if (input.ImageIds?.length && input.MaxResults !== undefined)
      fault('InvalidParameterCombination', 'The parameter ImageIds cannot be used with the parameter MaxResults');
    const filters = compileFilters(input.Filters, IMAGE_FILTERS);
    let candidates: Iterable<SimImage> = region.images.values();
    if (input.ImageIds?.length) {
      const missing: string[] = [];
      const found: SimImage[] = [];
      for (const id of input.ImageIds) {
        if (!IMAGE_ID.test(id)) fault('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`);
        const image = region.images.get(id);
        if (image) found.push(image);
        else if (!region.goneImages.has(id)) missing.push(id);
      }
      if (missing.length) fault('InvalidAMIID.NotFound', `The image id '[${missing.join(', ')}]' does not exist`);
      candidates = found.sort((a, b) => a.seq - b.seq);
    }
    const owners = input.Owners?.length
      ? new Set(input.Owners.map((owner) => (owner === 'self' ? account : owner)))
      : undefined;
    const everyone = input.ExecutableUsers?.includes('all') ?? false;
    const matching = function* (this: ImageModel) {
      for (const image of candidates) {
        if (!this.visible(region, image, now)) continue;
        const mine = image.ownerId === account;
        if (owners && !owners.has(image.ownerId)) continue;
        if (!mine && !image.public && !image.launchUserIds?.has(account)) continue;
        if (everyone && !image.public) continue;
        // "If you are the AMI owner, all deprecated AMIs appear in the response regardless" (DescribeImages docs).
        if (!mine && !input.IncludeDeprecated && image.deprecationTime && Date.parse(image.deprecationTime) <= now)
          continue;
        const state = imageStateAt(image, now);
        if (filters.count && !filters.matches(this.imageFields(image, state))) continue;
        yield image;
      }
    }.call(this);
    const page = paginate(matching, (image) => image.seq, input, queryKey('DescribeImages', input));
    return {
      Images: page.items.map((image) => this.toImage(image, imageStateAt(image, now))),
      NextToken: page.nextToken,
    };
  }

  private snapshotFields(snapshot: SimSnapshot, state: SnapshotState): FilterFields {
    return (name) => {
      switch (name) {
        case 'description':
          return [snapshot.description];
        case 'encrypted':
          return [String(snapshot.encrypted)];
        case 'owner-alias':
          return [];
        case 'owner-id':
          return [snapshot.ownerId];
        case 'progress':
          return [progress(snapshot, state, this.world.now())];
        case 'snapshot-id':
          return [snapshot.snapshotId];
        case 'start-time':
          return [iso(snapshot.startedAt)];
        case 'status':
          return [state];
        case 'storage-tier':
          return ['standard'];
        case 'volume-id':
          return [snapshot.volumeId];
        case 'volume-size':
          return [String(snapshot.volumeSize)];
        default:
          return tagFields(snapshot.tags, name);
      }
    };
  }

  private toSnapshot(snapshot: SimSnapshot, state: SnapshotState, now: number): Snapshot {
    return {
      SnapshotId: snapshot.snapshotId,
      VolumeId: snapshot.volumeId,
      State: state,
      StateMessage: state === 'error' ? 'Copy of the snapshot did not complete' : undefined,
      StartTime: dateAt(snapshot.startedAt),
      Progress: progress(snapshot, state, now),
      OwnerId: snapshot.ownerId,
      Description: snapshot.description,
      VolumeSize: snapshot.volumeSize,
      Encrypted: snapshot.encrypted,
      StorageTier: 'standard',
      FullSnapshotSizeInBytes: snapshot.fullSizeBytes,
      Tags: toTagList(snapshot.tags),
    };
  }

  DescribeSnapshots(region: RegionState, input: DescribeSnapshotsRequest): DescribeSnapshotsResult {
    const now = this.world.now();
    const account = this.world.accountId;
    if (input.SnapshotIds?.length && input.MaxResults !== undefined)
      fault('InvalidParameterCombination', 'The parameter SnapshotIds cannot be used with the parameter MaxResults');
    const filters = compileFilters(input.Filters, SNAPSHOT_FILTERS);
    let candidates: Iterable<SimSnapshot> = region.snapshots.values();
    if (input.SnapshotIds?.length) {
      const found = input.SnapshotIds.map((id) => this.requireSnapshot(region, id));
      candidates = found.sort((a, b) => a.seq - b.seq);
    }
    const owners = input.OwnerIds?.length
      ? new Set(input.OwnerIds.map((owner) => (owner === 'self' ? account : owner)))
      : undefined;
    const matching = function* (this: ImageModel) {
      for (const snapshot of candidates) {
        const mine = snapshot.ownerId === account;
        if (owners && !owners.has(snapshot.ownerId)) continue;
        if (!mine && !this.isReallyPublic(region, snapshot) && !snapshot.userIds?.has(account)) continue;
        const state = snapshotStateAt(snapshot, now);
        if (filters.count && !filters.matches(this.snapshotFields(snapshot, state))) continue;
        yield snapshot;
      }
    }.call(this);
    const page = paginate(matching, (s) => s.seq, input, queryKey('DescribeSnapshots', input));
    return {
      Snapshots: page.items.map((s) => this.toSnapshot(s, snapshotStateAt(s, now), now)),
      NextToken: page.nextToken,
    };
  }
}

function release(snapshot: SimSnapshot | undefined, imageId: string): void {
  const index = snapshot?.usedBy.indexOf(imageId) ?? -1;
  if (snapshot && index >= 0) snapshot.usedBy.splice(index, 1);
}

function progress(snapshot: SimSnapshot, state: SnapshotState, now: number): string {
  if (state !== 'pending') return state === 'completed' ? '100%' : '0%';
  const span = Math.max(1, snapshot.completesAt - snapshot.startedAt);
  return `${Math.min(99, Math.floor(((now - snapshot.startedAt) / span) * 100))}%`;
}

function toMapping(mapping: SimMapping): BlockDeviceMapping {
  return {
    DeviceName: mapping.deviceName,
    Ebs: {
      DeleteOnTermination: mapping.deleteOnTermination,
      SnapshotId: mapping.snapshotId,
      VolumeSize: mapping.volumeSize,
      VolumeType: mapping.volumeType as 'gp3',
      Encrypted: mapping.encrypted,
    },
  };
}

function tagList(specs: readonly TagSpecification[] | undefined, resourceType: string) {
  return (specs ?? []).filter((s) => s.ResourceType === resourceType).flatMap((s) => s.Tags ?? []);
}

function tagsFor(specs: readonly TagSpecification[] | undefined, resourceType: string): Record<string, string> {
  return Object.fromEntries(tagList(specs, resourceType).map((t) => [t.Key ?? '', t.Value ?? '']));
}
