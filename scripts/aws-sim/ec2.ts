import type {
  CreateTagsRequest,
  DescribeRegionsRequest,
  DescribeRegionsResult,
  DisableImageBlockPublicAccessResult,
  EnableImageBlockPublicAccessRequest,
  EnableImageBlockPublicAccessResult,
  EnableSnapshotBlockPublicAccessRequest,
  GetImageBlockPublicAccessStateResult,
  GetSnapshotBlockPublicAccessStateResult,
  Tag,
} from '@aws-sdk/client-ec2';
import { applyTags, compileFilters } from './ec2-common';
import { ImageModel } from './ec2-images';
import { InstanceModel } from './ec2-instances';
import { fault } from './errors';
import { type OperationHandler, operationMethod, type RegionState, type World } from './world';

const REGION_FILTERS = new Set(['endpoint', 'opt-in-status', 'region-name']);

/** The simulated EC2 API: one handler per action, over the image and instance models. */
export class Ec2Service {
  readonly images: ImageModel;
  readonly instances: InstanceModel;

  constructor(
    private readonly world: World,
    private readonly regionOf: (name: string) => RegionState,
  ) {
    this.images = new ImageModel(world);
    this.instances = new InstanceModel(world, this.images);
  }

  /** Answers one EC2 action, or undefined when the action is not modelled. */
  handler(operation: string): OperationHandler | undefined {
    const own = operationMethod(this, operation);
    if (own) return own;
    const image = operationMethod(this.images, operation);
    // CopyImage also reads the source region.
    if (image) return (region, input) => (image as (...args: unknown[]) => object)(region, input, this.regionOf);
    return operationMethod(this.instances, operation);
  }

  DescribeRegions(_region: RegionState, input: DescribeRegionsRequest): DescribeRegionsResult {
    const filters = compileFilters(input.Filters, REGION_FILTERS);
    const known = new Set(this.world.catalog.map((r) => r.name));
    const unknown = (input.RegionNames ?? []).filter((name) => !known.has(name));
    if (unknown.length) fault('InvalidParameterValue', `Invalid region(s): ${unknown.join(', ')}`);
    const regions = this.world.catalog
      .map((info) => ({
        RegionName: info.name,
        Endpoint: `ec2.${info.name}.amazonaws.com`,
        OptInStatus: !info.optIn
          ? 'opt-in-not-required'
          : this.world.isEnabled(info.name)
            ? 'opted-in'
            : 'not-opted-in',
      }))
      // "AllRegions: whether to display all Regions, including Regions that are disabled for your account".
      .filter((r) => input.AllRegions || r.OptInStatus !== 'not-opted-in')
      .filter((r) => !input.RegionNames?.length || input.RegionNames.includes(r.RegionName))
      .filter((r) =>
        filters.matches((name) =>
          name === 'region-name' ? [r.RegionName] : name === 'endpoint' ? [r.Endpoint] : [r.OptInStatus],
        ),
      );
    return { Regions: regions };
  }

  CreateTags(region: RegionState, input: CreateTagsRequest): Record<string, never> {
    const targets = (input.Resources ?? []).map((id) => ({ id, tags: this.tagsOf(region, id) }));
    // All or nothing: every resource is checked, then every one tagged.
    for (const target of targets) applyTags(new Map(target.tags), input.Tags as Tag[] | undefined, target.id);
    for (const target of targets) applyTags(target.tags, input.Tags, target.id);
    return {};
  }

  private tagsOf(region: RegionState, id: string): Map<string, string> {
    if (id.startsWith('ami-')) return this.images.requireImage(region, id, { allowFailed: true }).tags;
    if (id.startsWith('snap-')) return this.images.requireSnapshot(region, id).tags;
    if (id.startsWith('i-') || id.startsWith('vol-')) return this.instances.taggable(region.name, id);
    fault('InvalidID', `The ID '${id}' is not valid`);
  }

  GetImageBlockPublicAccessState(region: RegionState): GetImageBlockPublicAccessStateResult {
    return {
      ImageBlockPublicAccessState: this.images.imageBlockPublicAccess(region, this.world.now()),
      ManagedBy: region.imageBlockPublicAccessManagedBy,
    };
  }

  private changeImageBlockPublicAccess(region: RegionState, to: 'unblocked' | 'block-new-sharing'): void {
    const now = this.world.now();
    if (region.imageBlockPublicAccessManagedBy === 'declarative-policy')
      fault(
        'OperationNotPermitted',
        'Image block public access is managed by a declarative policy and cannot be changed for this account.',
      );
    const from = this.images.imageBlockPublicAccess(region, now);
    // "The API can take up to 10 minutes to configure this setting. During this time, if you run
    // GetImageBlockPublicAccessState, the response will be" the previous state (Enable/DisableImageBlockPublicAccess).
    const delay = this.world.draw(this.world.physics.images.blockPublicAccessTransitionMs, `bpa:${region.name}:${now}`);
    region.imageBlockPublicAccess = { from, to, at: now + delay };
  }

  EnableImageBlockPublicAccess(
    region: RegionState,
    input: EnableImageBlockPublicAccessRequest,
  ): EnableImageBlockPublicAccessResult {
    if (input.ImageBlockPublicAccessState !== 'block-new-sharing')
      fault(
        'InvalidParameterValue',
        `Value (${input.ImageBlockPublicAccessState}) for parameter ImageBlockPublicAccessState is invalid.`,
      );
    this.changeImageBlockPublicAccess(region, 'block-new-sharing');
    return { ImageBlockPublicAccessState: 'block-new-sharing' };
  }

  DisableImageBlockPublicAccess(region: RegionState): DisableImageBlockPublicAccessResult {
    this.changeImageBlockPublicAccess(region, 'unblocked');
    return { ImageBlockPublicAccessState: 'unblocked' };
  }

  GetSnapshotBlockPublicAccessState(region: RegionState): GetSnapshotBlockPublicAccessStateResult {
    return { State: region.snapshotBlockPublicAccess, ManagedBy: 'account' };
  }

  EnableSnapshotBlockPublicAccess(region: RegionState, input: EnableSnapshotBlockPublicAccessRequest) {
    if (!input.State || !['block-all-sharing', 'block-new-sharing', 'unblocked'].includes(input.State))
      fault('InvalidParameterValue', `Value (${input.State}) for parameter State is invalid.`);
    region.snapshotBlockPublicAccess = input.State;
    return { State: input.State };
  }

  DisableSnapshotBlockPublicAccess(region: RegionState) {
    region.snapshotBlockPublicAccess = 'unblocked';
    return { State: 'unblocked' as const };
  }

  GetEbsEncryptionByDefault(region: RegionState) {
    return { EbsEncryptionByDefault: region.encryptionByDefault, SseType: 'sse-ebs' as const };
  }

  EnableEbsEncryptionByDefault(region: RegionState) {
    region.encryptionByDefault = true;
    return { EbsEncryptionByDefault: true };
  }

  DisableEbsEncryptionByDefault(region: RegionState) {
    region.encryptionByDefault = false;
    return { EbsEncryptionByDefault: false };
  }
}
