import { compareBuilds } from '../naming';
import type { NamingProfile } from '../naming/types';
import { TAG } from '../tags';
import type {
  CopyDecision,
  ImagePlan,
  PublishAction,
  PublishActionKind,
  PublishOptions,
  PublishPlan,
  RegionImage,
  PublishInventory,
  PublishRegionPlan,
  SnapshotSharing,
  SourceImage,
} from './model';
import { DAY_MS } from '../time';

/** EC2 refuses a deprecation time in the past; a late publication deprecates this long after it instead. */
const MIN_DEPRECATION_LEAD_MS = 3_600_000;
/** EC2 rounds deprecation times to the minute, so a time read back may differ from the one written by seconds. */
const DEPRECATION_TOLERANCE_MS = 60_000;
/** States in which a copy will never become available and must be deregistered before copying again. */
const FAILED_STATES = new Set(['failed', 'error', 'invalid']);
/** A deregistered image is gone (listed for a while, then not at all): copied afresh, never deregistered again. */
const GONE_STATE = 'deregistered';

/**
 * The order of an image's changes: tags first (so whatever is made public is attributable), then launch permission,
 * snapshot permission and deprecation, SSM last, so a parameter only ever moves to an image that got every earlier
 * change. The executor stops an image's changes at the first that fails.
 */
export const ACTION_ORDER: readonly PublishActionKind[] = [
  'tag',
  'launch-permission',
  'snapshot-permission',
  'deprecate',
  'ssm',
];

/** Tags every published image and its snapshots carry (source and region provenance, series, git revision). */
export function expectedTags(source: SourceImage, region: string, options: PublishOptions): Record<string, string> {
  const tags: Record<string, string> = {
    [options.managedTag.key]: options.managedTag.value,
    [TAG.series]: source.parsed.seriesKey,
  };
  if (source.parsed.buildDate) tags[TAG.buildDate] = source.parsed.buildDate;
  if (region !== source.region) {
    tags[TAG.sourceImage] = source.imageId;
    tags[TAG.sourceRegion] = source.region;
  }
  if (source.gitBranch) tags[TAG.gitBranch] = source.gitBranch;
  if (source.gitRevision) tags[TAG.gitRevision] = source.gitRevision;
  return tags;
}

/**
 * When a build is deprecated: snapshot builds `deprecateAfterDays` after their build date (never in the past, which
 * EC2 refuses); releases and pre-releases are not deprecated by the pipeline.
 */
export function deprecationTime(source: SourceImage, options: PublishOptions, now: Date): string | undefined {
  if (source.parsed.kind !== 'snapshot' || !source.parsed.buildDate) return undefined;
  const planned = Date.parse(`${source.parsed.buildDate}T00:00:00Z`) + options.deprecateAfterDays * DAY_MS;
  const earliest = Math.ceil((now.getTime() + MIN_DEPRECATION_LEAD_MS) / 60_000) * 60_000;
  return new Date(Math.max(planned, earliest)).toISOString();
}

function missingTags(current: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): boolean {
  return Object.entries(wanted).some(([key, value]) => current[key] !== value);
}

/** For each SSM parameter, the newest source that maps to it: two builds of one series never both claim it. */
export function newestPerParameter(
  sources: readonly SourceImage[],
  profile: NamingProfile,
  prefix: string,
): Map<string, SourceImage> {
  const newest = new Map<string, SourceImage>();
  for (const source of sources) {
    const parameter = profile.ssmParameterName(prefix, source.parsed);
    const current = newest.get(parameter);
    if (!current || compareBuilds(current.parsed, source.parsed) < 0) newest.set(parameter, source);
  }
  return newest;
}

interface SsmDecision {
  readonly write: boolean;
  readonly reason: string;
}

function decideSsm(
  parameter: string,
  imageId: string,
  source: SourceImage,
  inventory: PublishInventory,
  profile: NamingProfile,
  newest: Map<string, SourceImage>,
): SsmDecision {
  if (newest.get(parameter)?.imageId !== source.imageId) {
    return { write: false, reason: `${parameter} goes to a newer build published in this run` };
  }
  const pointer = inventory.ssm[parameter];
  if (!pointer) return { write: true, reason: `${parameter} does not exist yet` };
  if (pointer.imageId === imageId) return { write: false, reason: `${parameter} already points at ${imageId}` };
  if (!pointer.imageName) {
    return { write: true, reason: `${parameter} points at ${pointer.imageId}, which no longer exists` };
  }
  const current = profile.parse(pointer.imageName);
  if (!current.managed) {
    return { write: true, reason: `${parameter} points at ${pointer.imageId} whose name is not a managed build` };
  }
  if (compareBuilds(current, source.parsed) >= 0) {
    return { write: false, reason: `${parameter} points at ${pointer.imageName}, not older than this build` };
  }
  return { write: true, reason: `${parameter} moves forward from ${pointer.imageName}` };
}

/** Changes an available image in `region` still needs, each with why. */
function attributeActions(
  image: RegionImage,
  source: SourceImage,
  region: string,
  context: PlanContext,
): { actions: PublishAction[]; notes: string[]; blocked: string[] } {
  const { options, now, inventory, profile, newest, snapshotSharing } = context;
  const actions: PublishAction[] = [];
  const notes: string[] = [];
  const blocked: string[] = [];
  const canBePublic = !image.encrypted;
  if (!canBePublic && (options.makeAmiPublic || options.makeSnapshotPublic)) {
    notes.push('encrypted, so it cannot be made public');
  }
  if (options.makeAmiPublic && canBePublic && !image.public) {
    actions.push({ kind: 'launch-permission', imageId: image.imageId, reason: 'launch permission for all is missing' });
  }
  if (options.makeSnapshotPublic && canBePublic) {
    // Under block-all-sharing the attribute may still say `all` while nobody outside the account can use the snapshot;
    // when the setting cannot be read, that cannot be ruled out.
    const trusted = snapshotSharing === 'unblocked' || snapshotSharing === 'block-new-sharing';
    const open = trusted ? image.publicSnapshotIds : [];
    const closed = image.snapshotIds.filter((id) => !open.includes(id));
    if (closed.length > 0 && snapshotSharing !== 'unblocked') {
      blocked.push(snapshotSharingBlocked(snapshotSharing));
    } else {
      for (const snapshotId of closed) {
        actions.push({
          kind: 'snapshot-permission',
          snapshotId,
          reason: 'create-volume permission for all is missing',
        });
      }
    }
  }
  const tags = expectedTags(source, region, options);
  const untagged = [
    ...(missingTags(image.tags, tags) ? [image.imageId] : []),
    ...image.snapshotIds.filter((id) => missingTags(image.snapshotTags[id] ?? {}, tags)),
  ];
  if (untagged.length > 0) {
    actions.push({ kind: 'tag', resourceIds: untagged, tags, reason: `${untagged.length} resource(s) lack tags` });
  }
  const deprecateAt = deprecationTime(source, options, now);
  if (deprecateAt) {
    const current = image.deprecationTime ? Date.parse(image.deprecationTime) : undefined;
    if (current === undefined || Math.abs(current - Date.parse(deprecateAt)) > DEPRECATION_TOLERANCE_MS) {
      actions.push({
        kind: 'deprecate',
        imageId: image.imageId,
        deprecateAt,
        reason: current === undefined ? 'no deprecation time set' : `deprecation time is ${image.deprecationTime}`,
      });
    }
  }
  const parameter = profile.ssmParameterName(options.ssmPrefix, source.parsed);
  const ssm = decideSsm(parameter, image.imageId, source, inventory, profile, newest);
  if (ssm.write) actions.push({ kind: 'ssm', parameter, imageId: image.imageId, reason: ssm.reason });
  return { actions: inOrder(actions), notes, blocked };
}

/** Actions sorted into `ACTION_ORDER`, keeping the order among actions of one kind. */
function inOrder(actions: readonly PublishAction[]): PublishAction[] {
  return ACTION_ORDER.flatMap((kind) => actions.filter((a) => a.kind === kind));
}

/** Why an image's snapshots are not public; the same words for every image of a region, so reports group them. */
function snapshotSharingBlocked(sharing: SnapshotSharing): string {
  if (sharing === 'unknown') {
    return 'snapshot block public access could not be read, so the snapshot cannot be confirmed public';
  }
  return sharing === 'block-all-sharing'
    ? 'snapshot block public access is block-all-sharing: the snapshot is not public, whatever its attribute says'
    : 'snapshot block public access is block-new-sharing: the snapshot cannot be made public';
}

interface PlanContext {
  readonly options: PublishOptions;
  readonly now: Date;
  readonly inventory: PublishInventory;
  readonly profile: NamingProfile;
  readonly newest: Map<string, SourceImage>;
  readonly snapshotSharing: SnapshotSharing;
}

function followUpKinds(source: SourceImage, context: PlanContext): PublishActionKind[] {
  const kinds: PublishActionKind[] = ['tag'];
  if (context.options.makeAmiPublic) kinds.push('launch-permission');
  if (context.options.makeSnapshotPublic) kinds.push('snapshot-permission');
  if (deprecationTime(source, context.options, context.now)) kinds.push('deprecate');
  const parameter = context.profile.ssmParameterName(context.options.ssmPrefix, source.parsed);
  if (decideSsm(parameter, '(copy)', source, context.inventory, context.profile, context.newest).write) {
    kinds.push('ssm');
  }
  return kinds;
}

function pickExisting(images: readonly RegionImage[], name: string): RegionImage | undefined {
  const named = images.filter((i) => i.name === name && i.state !== GONE_STATE);
  return named.find((i) => i.state === 'available') ?? named.find((i) => !FAILED_STATES.has(i.state)) ?? named[0];
}

function planImage(source: SourceImage, region: string, context: PlanContext): ImagePlan {
  const base = { sourceImageId: source.imageId, name: source.name, region };
  let copy: CopyDecision;
  let image: RegionImage | undefined;
  if (region === source.region) {
    image = context.inventory.images.find((i) => i.imageId === source.imageId);
    copy = { action: 'source', imageId: source.imageId, state: image?.state, reason: 'the source image itself' };
  } else {
    image = pickExisting(context.inventory.images, source.name);
    const gone = context.inventory.images.find((i) => i.name === source.name && i.state === GONE_STATE);
    if (!image && gone) {
      copy = { action: 'copy', reason: `copy ${gone.imageId} was deregistered: copy afresh` };
    } else if (!image) copy = { action: 'copy', reason: 'no image of this name in the region' };
    else if (FAILED_STATES.has(image.state)) {
      copy = {
        action: 'recopy',
        imageId: image.imageId,
        state: image.state,
        reason: `copy ${image.imageId} is ${image.state}: deregister it and copy again`,
      };
    } else {
      copy = {
        action: 'exists',
        imageId: image.imageId,
        state: image.state,
        reason: `copy ${image.imageId} exists (${image.state})`,
      };
    }
  }
  if (image?.state !== 'available') {
    const waiting = image ? `waiting for ${image.imageId} (${image.state})` : 'the image is copied first';
    return { ...base, copy, actions: [], afterCopy: followUpKinds(source, context), blocked: [], reason: waiting };
  }
  const { actions, notes, blocked } = attributeActions(image, source, region, context);
  const summary =
    actions.length > 0
      ? `${actions.length} change(s) needed`
      : blocked.length > 0
        ? 'cannot be published as configured'
        : 'published: nothing left to do';
  return { ...base, copy, actions, afterCopy: [], blocked, reason: [summary, ...blocked, ...notes].join('; ') };
}

/**
 * What publishing `sources` in one region still takes, given what is there now and the region's snapshot block
 * public access (`unblocked` when not given). Pure: `now` is passed in.
 */
export function planRegion(input: {
  readonly sources: readonly SourceImage[];
  readonly inventory: PublishInventory;
  readonly options: PublishOptions;
  readonly profile: NamingProfile;
  readonly now: Date;
  readonly snapshotSharing?: SnapshotSharing;
}): PublishRegionPlan {
  const context: PlanContext = {
    options: input.options,
    now: input.now,
    inventory: input.inventory,
    profile: input.profile,
    newest: newestPerParameter(input.sources, input.profile, input.options.ssmPrefix),
    snapshotSharing: input.snapshotSharing ?? 'unblocked',
  };
  const sources = [...input.sources].sort((a, b) => a.name.localeCompare(b.name));
  return {
    region: input.inventory.region,
    images: sources.map((source) => planImage(source, input.inventory.region, context)),
  };
}

/**
 * The plan for every region; re-planning a half-done state yields only what is still missing. `sourcesIn` narrows the
 * sources of a region (the pairs not yet published there); `snapshotSharing` gives each region's setting.
 */
export function planPublish(input: {
  readonly sources: readonly SourceImage[];
  readonly inventories: readonly PublishInventory[];
  readonly options: PublishOptions;
  readonly profile: NamingProfile;
  readonly now: Date;
  readonly sourcesIn?: Readonly<Record<string, readonly string[]>>;
  readonly snapshotSharing?: Readonly<Record<string, SnapshotSharing>>;
}): PublishPlan {
  const regions = [...input.inventories]
    .sort((a, b) => a.region.localeCompare(b.region))
    .map((inventory) => {
      const wanted = input.sourcesIn?.[inventory.region];
      return planRegion({
        ...input,
        sources: wanted ? input.sources.filter((s) => wanted.includes(s.imageId)) : input.sources,
        inventory,
        snapshotSharing: input.snapshotSharing?.[inventory.region],
      });
    });
  return { sources: input.sources.map((s) => ({ imageId: s.imageId, name: s.name })), regions };
}

/** Counts of copies and changes in a plan, for summaries and for "nothing to do". */
export function planCounts(plan: Pick<PublishPlan, 'regions'>): { copies: number; actions: number; pending: number } {
  let copies = 0;
  let actions = 0;
  let pending = 0;
  for (const region of plan.regions) {
    for (const image of region.images) {
      if (image.copy.action === 'copy' || image.copy.action === 'recopy') copies++;
      else if (image.copy.state !== 'available') pending++;
      actions += image.actions.length;
    }
  }
  return { copies, actions, pending };
}
