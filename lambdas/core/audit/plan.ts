import type { PipelineConfig } from '../config';
import { compareBuilds, namingProfile } from '../naming';
import type { NamingProfile, ParsedImageName } from '../naming/types';
import type { ImagePlan, PublishAction, RegionImage } from '../publish/model';
import { publishOptions } from '../publish/options';
import { planRegion } from '../publish/plan';
import { classifySeries } from '../series';
import { TAG } from '../tags';
import type {
  AuditedBuild,
  AuditFinding,
  AuditInventory,
  AuditPlan,
  AuditRegionInventory,
  AuditSource,
  BuildSelection,
  FindingKind,
  RegionAudit,
  SkippedBuild,
} from './model';

/** An image listed for a while after deregistration; it is neither a copy nor a duplicate. */
const GONE_STATE = 'deregistered';

/** The series key without its version and branch: `amd64/base/ufs`. */
function variantOf(parsed: ParsedImageName): string {
  return parsed.seriesKey.slice(parsed.seriesKey.indexOf('/') + 1);
}

function newest<T extends { readonly parsed: ParsedImageName; readonly name: string }>(builds: readonly T[]): T {
  return [...builds].sort((a, b) => compareBuilds(b.parsed, a.parsed))[0]!;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/**
 * The current builds every enabled region must have: the newest published build of each development line, every
 * published release whose version has not reached its end of life (`retention.releaseEndOfLife`, as prune keeps
 * them), and the newest pre-release of a version whose release is not out yet. Builds publish has not taken on yet
 * are left to publish (it announces and boot-tests them first). Pure.
 */
export function selectAuditedBuilds(
  sources: readonly AuditSource[],
  config: PipelineConfig,
  now: Date,
): BuildSelection & { readonly sources: readonly AuditSource[] } {
  const today = now.toISOString().slice(0, 10);
  const skipped: SkippedBuild[] = [];
  const managed = sources.filter((source) => {
    const series = classifySeries(source.parsed, config.series);
    if (!series.managed) skipped.push({ imageId: source.imageId, name: source.name, reason: series.reason });
    return series.managed;
  });
  const published = managed.filter((source) => {
    if (!source.published)
      skipped.push({ imageId: source.imageId, name: source.name, reason: 'not published yet: publish takes it first' });
    return source.published;
  });
  const chosen: { source: AuditSource; reason: string }[] = [];
  const snapshots = groupBy(
    published.filter((s) => s.parsed.kind === 'snapshot'),
    (s) => s.parsed.lineKey,
  );
  for (const [line, builds] of snapshots) chosen.push({ source: newest(builds), reason: `newest build of ${line}` });
  for (const release of published.filter((s) => s.parsed.kind === 'release')) {
    const endOfLife = config.retention.releaseEndOfLife[release.parsed.version];
    if (endOfLife !== undefined && endOfLife < today) {
      skipped.push({ imageId: release.imageId, name: release.name, reason: `reached its end of life on ${endOfLife}` });
    } else {
      const until = endOfLife ? `until ${endOfLife}` : 'with no end-of-life date';
      chosen.push({ source: release, reason: `release ${release.parsed.version} supported ${until}` });
    }
  }
  const released = new Set(
    managed.filter((s) => s.parsed.kind === 'release').map((s) => `${s.parsed.version}/${variantOf(s.parsed)}`),
  );
  const prereleases = groupBy(
    published.filter((s) => s.parsed.kind === 'prerelease'),
    (s) => `${s.parsed.version}/${variantOf(s.parsed)}`,
  );
  for (const [key, builds] of prereleases) {
    if (released.has(key)) {
      for (const build of builds)
        skipped.push({ imageId: build.imageId, name: build.name, reason: 'its release is out' });
    } else chosen.push({ source: newest(builds), reason: `newest pre-release of ${key}` });
  }
  const ids = new Set(chosen.map((c) => c.source.imageId));
  for (const source of published) {
    if (!ids.has(source.imageId) && source.parsed.kind === 'snapshot')
      skipped.push({ imageId: source.imageId, name: source.name, reason: 'a newer build of its line exists' });
  }
  chosen.sort((a, b) => a.source.name.localeCompare(b.source.name));
  const builds: AuditedBuild[] = chosen.map((c) => ({
    imageId: c.source.imageId,
    name: c.source.name,
    reason: c.reason,
  }));
  return { builds, skipped, sources: chosen.map((c) => c.source) };
}

function missingTagKeys(current: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): string[] {
  return Object.entries(wanted)
    .filter(([key, value]) => current[key] !== value)
    .map(([key]) => key);
}

interface FindingContext {
  readonly region: AuditRegionInventory;
  readonly source: AuditSource;
  readonly config: PipelineConfig;
}

function base(context: FindingContext) {
  return {
    region: context.region.region,
    series: context.source.parsed.seriesKey,
    name: context.source.name,
    sourceImageId: context.source.imageId,
  };
}

function actionFinding(action: PublishAction, image: RegionImage, context: FindingContext): AuditFinding {
  const common = { ...base(context), repair: { kind: 'change' as const, action } };
  switch (action.kind) {
    case 'launch-permission':
      return { ...common, kind: 'private-image', imageIds: [image.imageId], reason: action.reason };
    case 'snapshot-permission':
      return {
        ...common,
        kind: 'private-snapshot',
        imageIds: [image.imageId, action.snapshotId],
        reason: `snapshot ${action.snapshotId}: ${action.reason}`,
      };
    case 'tag': {
      const keys = new Set<string>();
      for (const id of action.resourceIds) {
        const current = id === image.imageId ? image.tags : (image.snapshotTags[id] ?? {});
        for (const key of missingTagKeys(current, action.tags)) keys.add(key);
      }
      return {
        ...common,
        kind: 'missing-tags',
        imageIds: [...action.resourceIds],
        reason: `${action.resourceIds.join(', ')} lack or differ in ${[...keys].sort().join(', ')}`,
      };
    }
    case 'deprecate':
      return {
        ...common,
        kind: 'missing-deprecation',
        imageIds: [image.imageId],
        reason: `${action.reason}; due ${action.deprecateAt}`,
      };
    case 'ssm': {
      const pointer = context.region.ssm[action.parameter];
      const kind: FindingKind = pointer ? 'stale-parameter' : 'missing-parameter';
      return {
        ...common,
        kind,
        imageIds: pointer ? [action.imageId, pointer.imageId] : [action.imageId],
        reason: action.reason,
      };
    }
  }
}

function copyFindings(plan: ImagePlan, context: FindingContext): AuditFinding[] {
  const { copy } = plan;
  if (copy.action === 'copy') {
    return [
      {
        ...base(context),
        kind: 'missing-copy',
        imageIds: [],
        reason: copy.reason,
        repair: { kind: 'copy', sourceImageId: context.source.imageId },
      },
    ];
  }
  if (copy.action === 'recopy' && copy.imageId) {
    return [
      {
        ...base(context),
        kind: 'copy-not-available',
        imageIds: [copy.imageId],
        reason: copy.reason,
        repair: { kind: 'recopy', sourceImageId: context.source.imageId, imageId: copy.imageId },
      },
    ];
  }
  if (copy.state !== 'available' && copy.imageId) {
    return [
      {
        ...base(context),
        kind: 'copy-not-available',
        imageIds: [copy.imageId],
        reason: `${copy.imageId} is ${copy.state ?? 'not listed'}`,
        unrepairable: 'a copy in progress is left to finish; the next audit looks again',
      },
    ];
  }
  return [];
}

/** Other images of the region that are also this build: copies carrying its source id under another name. */
function duplicateFinding(plan: ImagePlan, context: FindingContext): AuditFinding | undefined {
  const kept = plan.copy.imageId;
  const others = context.region.images.filter(
    (image) =>
      image.imageId !== kept &&
      image.state !== GONE_STATE &&
      image.imageId !== context.source.imageId &&
      (image.name === context.source.name || image.tags[TAG.sourceImage] === context.source.imageId),
  );
  if (others.length === 0 || !kept) return undefined;
  const ids = others.map((image) => image.imageId).sort();
  return {
    ...base(context),
    kind: 'duplicate-copy',
    imageIds: [kept, ...ids],
    reason: `${ids.join(', ')} ${ids.length === 1 ? 'is another copy' : 'are other copies'} of ${context.source.imageId} besides ${kept}`,
    unrepairable: 'the audit never deregisters; remove the extra copy by hand or let prune age it out',
  };
}

function imageFindings(plan: ImagePlan, context: FindingContext): AuditFinding[] {
  const findings = copyFindings(plan, context);
  const duplicate = duplicateFinding(plan, context);
  if (duplicate) findings.push(duplicate);
  const image = context.region.images.find((i) => i.imageId === plan.copy.imageId);
  if (image?.state !== 'available') return findings;
  const { publish } = context.config;
  if (publish.makeAmiPublic && image.encrypted && !image.public) {
    findings.push({
      ...base(context),
      kind: 'private-image',
      imageIds: [image.imageId],
      reason: 'launch permission for all is missing',
      unrepairable: 'the image is encrypted, so it cannot be made public',
    });
  }
  for (const action of plan.actions) findings.push(actionFinding(action, image, context));
  for (const blocked of plan.blocked) {
    const closed = image.snapshotIds.filter((id) => !image.publicSnapshotIds.includes(id));
    findings.push({
      ...base(context),
      kind: 'private-snapshot',
      imageIds: [image.imageId, ...(closed.length > 0 ? closed : image.snapshotIds)],
      reason: 'snapshot not public',
      unrepairable: blocked,
    });
  }
  return findings;
}

/** Findings of one region for the given current builds. */
export function auditRegion(
  region: AuditRegionInventory,
  builds: readonly AuditSource[],
  config: PipelineConfig,
  now: Date,
  profile: NamingProfile = namingProfile(config.naming.profile),
): RegionAudit {
  const plan = planRegion({
    sources: builds,
    inventory: region,
    options: publishOptions(config),
    profile,
    now,
    snapshotSharing: region.snapshotSharing,
  });
  const byId = new Map(builds.map((b) => [b.imageId, b]));
  const findings = plan.images.flatMap((image) =>
    imageFindings(image, { region, source: byId.get(image.sourceImageId)!, config }),
  );
  return { region: region.region, findings };
}

/**
 * What is wrong in each region with the current builds (`selectAuditedBuilds`), each finding with its kind, reason
 * and planned repair. The expected state of a region is exactly what publish would leave there: the publish planner
 * (`planRegion`) decides copies, tags, permissions, deprecation and SSM, so the two can never disagree. Pure.
 */
export function planAudit(inventory: AuditInventory, config: PipelineConfig, now: Date): AuditPlan {
  const selection = selectAuditedBuilds(inventory.sources, config, now);
  const profile = namingProfile(config.naming.profile);
  const regions = [...inventory.regions]
    .sort((a, b) => a.region.localeCompare(b.region))
    .map((region) => auditRegion(region, selection.sources, config, now, profile));
  return { builds: selection.builds, skipped: selection.skipped, regions };
}

/** A finding's identity across two looks at a region: kind, region, build and what it concerns. */
export function findingKey(finding: Pick<AuditFinding, 'kind' | 'region' | 'sourceImageId'>): string {
  return `${finding.region} ${finding.sourceImageId} ${finding.kind}`;
}
