import type { PipelineConfig } from '../config';
import { compareBuilds, type ImageNameParse, namingProfile, type ParsedImageName } from '../naming';
import { TAG } from '../tags';
import type {
  BreakerDecision,
  ImagePlanEntry,
  InventoryImage,
  InventorySnapshot,
  PrunePlan,
  PrunePolicy,
  PruneReason,
  PruneInventory,
  RetiredLine,
  PruneRegionPlan,
  SnapshotPlanEntry,
} from './types';
import { DAY_MS } from '../time';

/** Image states in which an AMI may be deregistered; anything else is still settling or already gone. */
const SETTLED_STATES = new Set(['available', 'disabled']);
/** Descriptions EC2 gives the snapshots it makes for an AMI (CopyImage, CreateImage, RegisterImage). */
const AMI_SNAPSHOT_DESCRIPTION =
  /(Copied for DestinationAmi|Created by CreateImage\(.*\) for|snapshot for AMI) (ami-[0-9a-f]+)/;

/** The retention and safety policy of a configuration; `overrideBreaker` comes from the operator, never config. */
export function prunePolicy(
  config: PipelineConfig,
  options: { overrideBreaker?: boolean; capBoundary?: string } = {},
): PrunePolicy {
  const { retention, safety } = config;
  return {
    profile: namingProfile(config.naming.profile),
    managedTag: config.managedTag,
    keepNewest: retention.keepNewest,
    minAgeDays: retention.minAgeDays,
    prereleaseGraceDays: retention.prereleaseGraceDays,
    releaseEndOfLife: retention.releaseEndOfLife,
    lineEndOfLife: retention.lineEndOfLife,
    orphanSnapshotGraceDays: retention.orphanSnapshotGraceDays,
    keepLaunchedWithinDays: retention.keepLaunchedWithinDays,
    softDeleteGraceDays: retention.softDeleteGraceDays,
    maxDeletionsPerRun: safety.maxDeletionsPerRun,
    maxDeleteShare: safety.maxDeleteShare,
    overrideBreaker: options.overrideBreaker ?? false,
    ...(options.capBoundary !== undefined && { capBoundary: options.capBoundary }),
  };
}

function daysSince(isoDateOrTime: string, now: Date): number {
  const at = Date.parse(isoDateOrTime.length === 10 ? `${isoDateOrTime}T00:00:00Z` : isoDateOrTime);
  return Math.floor((now.getTime() - at) / DAY_MS);
}

function isoDate(time: string | undefined): string | undefined {
  if (!time || Number.isNaN(Date.parse(time))) return undefined;
  return new Date(Date.parse(time)).toISOString().slice(0, 10);
}

function addDays(isoDay: string, days: number): string {
  return new Date(Date.parse(`${isoDay}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Sort key of a deletion across the whole run: oldest first, then region and id so the order is total. */
export function capKey(ageDate: string | undefined, region: string, id: string): string {
  return `${ageDate ?? '0000-00-00'}|${region}|${id}`;
}

interface Verdict {
  readonly delete: boolean;
  readonly reason: PruneReason;
  readonly detail: string;
  readonly ageDate?: string;
}

const keep = (reason: PruneReason, detail: string, ageDate?: string): Verdict => ({
  delete: false,
  reason,
  detail,
  ageDate,
});

interface ParsedImage {
  readonly image: InventoryImage;
  readonly parsed: ParsedImageName;
}

/** The key of a line's variant (arch, flavour, file system, boot method): the line key after its first segment. */
function variantOf(lineKey: string): string {
  return lineKey.slice(lineKey.indexOf('/') + 1);
}

/**
 * CURRENT lines whose major version was followed by a newer CURRENT line of the same variant: the branch moved on
 * (15-CURRENT became 15-STABLE when 16-CURRENT started), so the old line's last builds lose the keep-newest guarantee
 * and age out like any other build. A line past its end of life follows nothing: its builds are on their way out, and
 * once they are gone the older line would be kept again, so how many runs a prune takes would change what it keeps.
 */
function supersededCurrentLines(
  parsed: readonly ParsedImage[],
  retired: ReadonlyMap<string, string>,
): Map<string, string> {
  const majors = new Map<string, Map<number, string>>();
  for (const { parsed: p } of parsed) {
    if (p.branch !== 'CURRENT' || retired.has(lineOf(p.lineKey))) continue;
    const variant = variantOf(p.lineKey);
    const byMajor = majors.get(variant) ?? new Map<number, string>();
    byMajor.set(Number(p.version.split('.')[0]), p.lineKey);
    majors.set(variant, byMajor);
  }
  const superseded = new Map<string, string>();
  for (const byMajor of majors.values()) {
    const newest = Math.max(...byMajor.keys());
    for (const [major, lineKey] of byMajor) if (major < newest) superseded.set(lineKey, byMajor.get(newest)!);
  }
  return superseded;
}

/** The development lines whose end-of-life date lies before `now`'s day, oldest date first. */
export function retiredLines(policy: PrunePolicy, now: Date): RetiredLine[] {
  const today = now.toISOString().slice(0, 10);
  return Object.entries(policy.lineEndOfLife)
    .filter(([, date]) => date < today)
    .map(([line, endOfLife]) => ({ line, endOfLife }))
    .sort((a, b) => a.endOfLife.localeCompare(b.endOfLife) || a.line.localeCompare(b.line));
}

/** The development line of a line key: `13-STABLE` of `13-STABLE/amd64/base/ufs`. */
export function lineOf(lineKey: string): string {
  return lineKey.slice(0, lineKey.indexOf('/') === -1 ? undefined : lineKey.indexOf('/'));
}

/** Date from which a release counts as existing: when it was published here, else its registration date. */
function releaseSince(image: InventoryImage): string | undefined {
  return isoDate(image.tags[TAG.publishedAt]) ?? isoDate(image.creationDate);
}

/** Appends in place: a line holds a build a week for years, and copying its list on each append is quadratic. */
function appendTo<T>(lists: Map<string, T[]>, key: string, value: T): void {
  const list = lists.get(key);
  if (list) list.push(value);
  else lists.set(key, [value]);
}

function retentionVerdicts(parsed: readonly ParsedImage[], policy: PrunePolicy, now: Date): Map<string, Verdict> {
  const verdicts = new Map<string, Verdict>();
  const retired = new Map(retiredLines(policy, now).map((r) => [r.line, r.endOfLife]));
  const superseded = supersededCurrentLines(parsed, retired);
  const lines = new Map<string, ParsedImage[]>();
  const releases = new Map<string, string>();
  for (const entry of parsed) {
    const { parsed: p } = entry;
    if (p.kind === 'snapshot') appendTo(lines, p.lineKey, entry);
    if (p.kind === 'release') {
      const key = `${p.version} ${p.lineKey}`;
      const since = releaseSince(entry.image) ?? now.toISOString().slice(0, 10);
      const known = releases.get(key);
      if (known === undefined || since < known) releases.set(key, since);
    }
  }
  const today = now.toISOString().slice(0, 10);
  const endOfLife = (version: string) => {
    const date = policy.releaseEndOfLife[version];
    return date !== undefined && date < today ? date : undefined;
  };

  for (const [lineKey, members] of lines) {
    // Duplicates of one build (a copy made twice) are told apart by image id, so the ranking is deterministic.
    const newestFirst = [...members].sort(
      (a, b) => compareBuilds(b.parsed, a.parsed) || (a.image.imageId < b.image.imageId ? -1 : 1),
    );
    const successor = superseded.get(lineKey);
    const line = lineOf(lineKey);
    const lineEnd = retired.get(line);
    newestFirst.forEach(({ image, parsed: p }, rank) => {
      const buildDate = p.buildDate!;
      const age = daysSince(buildDate, now);
      if (rank < policy.keepNewest && successor === undefined && lineEnd === undefined) {
        verdicts.set(
          image.imageId,
          keep('newest-builds', `one of the newest ${policy.keepNewest} builds of ${lineKey}`, buildDate),
        );
      } else if (age < policy.minAgeDays) {
        verdicts.set(
          image.imageId,
          keep('min-age', `built ${age} days ago, younger than ${policy.minAgeDays} days`, buildDate),
        );
      } else if (lineEnd !== undefined) {
        verdicts.set(image.imageId, {
          delete: true,
          reason: 'line-end-of-life',
          detail: `built ${age} days ago and line ${line} reached its end of life on ${lineEnd}`,
          ageDate: buildDate,
        });
      } else {
        const why = successor
          ? `line ${lineKey} was followed by ${successor}`
          : `older than the newest ${policy.keepNewest} builds of ${lineKey}`;
        verdicts.set(image.imageId, {
          delete: true,
          reason: 'aged-out',
          detail: `built ${age} days ago and ${why}`,
          ageDate: buildDate,
        });
      }
    });
  }

  for (const { image, parsed: p } of parsed) {
    if (p.kind === 'snapshot') continue;
    const eol = endOfLife(p.version);
    if (eol) {
      verdicts.set(image.imageId, {
        delete: true,
        reason: 'release-end-of-life',
        detail: `${p.version} reached its end of life on ${eol}`,
        ageDate: eol,
      });
    } else if (p.kind === 'release') {
      verdicts.set(image.imageId, keep('release', `releases are kept until ${p.version} has an end-of-life date`));
    } else {
      const since = releases.get(`${p.version} ${p.lineKey}`);
      if (since === undefined) {
        verdicts.set(image.imageId, keep('prerelease-awaiting-release', `${p.version}-RELEASE is not here yet`));
      } else {
        const days = daysSince(since, now);
        verdicts.set(
          image.imageId,
          days >= policy.prereleaseGraceDays
            ? {
                delete: true,
                reason: 'prerelease-after-release',
                detail: `${p.version}-RELEASE exists since ${since}, ${days} days (grace ${policy.prereleaseGraceDays})`,
                ageDate: since,
              }
            : keep('prerelease-grace', `${p.version}-RELEASE exists since ${since}, only ${days} days`, since),
        );
      }
    }
  }
  return verdicts;
}

function protection(
  image: InventoryImage,
  region: PruneInventory,
  policy: PrunePolicy,
  now: Date,
): Verdict | undefined {
  const ssm = region.ssmReferences[image.imageId];
  if (ssm?.length) return keep('ssm-referenced', `referenced by SSM parameter ${ssm.join(', ')}`);
  if (image.deregistrationProtection !== undefined && image.deregistrationProtection !== 'disabled') {
    return keep('deregistration-protected', `deregistration protection is ${image.deregistrationProtection}`);
  }
  if (policy.keepLaunchedWithinDays > 0 && image.lastLaunchedTime) {
    const days = daysSince(image.lastLaunchedTime, now);
    if (days < policy.keepLaunchedWithinDays) {
      return keep('recently-launched', `launched ${days} days ago (within ${policy.keepLaunchedWithinDays} days)`);
    }
  }
  if (!SETTLED_STATES.has(image.state)) return keep('not-settled', `image state is ${image.state}`);
  return undefined;
}

function ownership(
  image: InventoryImage,
  parsed: ImageNameParse,
  region: PruneInventory,
  policy: PrunePolicy,
): Verdict | ParsedImageName {
  if (!parsed.managed) return keep('unmanaged-name', `name not understood: ${parsed.reason}`);
  if (image.ownerId !== region.accountId) return keep('not-owned', `owned by ${image.ownerId}`);
  if (image.tags[policy.managedTag.key] !== policy.managedTag.value) {
    return keep('untagged', `no ${policy.managedTag.key}=${policy.managedTag.value} tag; adopt it to manage it`);
  }
  return parsed;
}

/** An image's entry before the cap: whether EC2 may delete all its snapshots is known only once the cap has cut. */
interface DraftImage extends Omit<ImagePlanEntry, 'deleteAllSnapshots'> {
  readonly capKey: string;
}

function planImages(region: PruneInventory, policy: PrunePolicy, now: Date): DraftImage[] {
  const parsedAll: ParsedImage[] = [];
  const early = new Map<string, Verdict>();
  const parsedById = new Map<string, ParsedImageName>();
  for (const image of region.images) {
    const parsed = policy.profile.parse(image.name);
    if (parsed.managed) {
      parsedAll.push({ image, parsed });
      parsedById.set(image.imageId, parsed);
    }
    const owned = ownership(image, parsed, region, policy);
    if ('delete' in owned) early.set(image.imageId, owned);
  }
  // Every parsed build counts toward its line's newest builds, tagged or not, so adopting later changes nothing.
  const retention = retentionVerdicts(parsedAll, policy, now);
  const today = now.toISOString().slice(0, 10);

  return region.images.map((image) => {
    const parsed = parsedById.get(image.imageId);
    let verdict = early.get(image.imageId) ?? retention.get(image.imageId)!;
    if (verdict.delete) verdict = protection(image, region, policy, now) ?? verdict;
    let action: ImagePlanEntry['action'] = verdict.delete ? 'deregister' : 'keep';
    let { reason, detail } = verdict;
    if (verdict.delete && policy.softDeleteGraceDays > 0) {
      const due = image.tags[TAG.deleteAfter];
      if (due === undefined) {
        action = 'soft-delete';
        detail = `${detail}; made private, deletion due ${addDays(today, policy.softDeleteGraceDays)}`;
      } else if (due > today) {
        action = 'keep';
        reason = 'soft-delete-pending';
        detail = `made private earlier, deletion due ${due}`;
      } else {
        reason = 'soft-delete-due';
        detail = `soft-deleted, deletion was due ${due} (${verdict.detail})`;
      }
    }
    return {
      imageId: image.imageId,
      name: image.name,
      action,
      reason,
      detail,
      ...(parsed && { seriesKey: parsed.seriesKey, lineKey: parsed.lineKey }),
      ...(verdict.ageDate !== undefined && { ageDate: verdict.ageDate }),
      snapshotIds: image.snapshotIds,
      public: image.public,
      capKey: capKey(verdict.ageDate, region.region, image.imageId),
    };
  });
}

interface DraftSnapshot extends SnapshotPlanEntry {
  readonly capKey?: string;
}

function planOrphan(snapshot: InventorySnapshot, region: PruneInventory, policy: PrunePolicy, now: Date) {
  const base = { snapshotId: snapshot.snapshotId, usedBy: [], volumeSizeGiB: snapshot.volumeSizeGiB };
  const sized = snapshot.fullSizeBytes !== undefined ? { ...base, fullSizeBytes: snapshot.fullSizeBytes } : base;
  const tagged = snapshot.tags[policy.managedTag.key] === policy.managedTag.value;
  const ami = AMI_SNAPSHOT_DESCRIPTION.exec(snapshot.description ?? '')?.[2];
  if (!tagged) {
    if (!ami) return undefined; // not ours and not made for an AMI: none of the pipeline's business
    return {
      ...sized,
      action: 'keep' as const,
      reason: 'orphan-untagged' as const,
      detail: `made for ${ami}, which is gone, but not tagged as managed`,
    };
  }
  if (snapshot.ownerId !== region.accountId) {
    return {
      ...sized,
      action: 'keep' as const,
      reason: 'snapshot-not-owned' as const,
      detail: `owned by ${snapshot.ownerId}`,
    };
  }
  const started = snapshot.startTime ?? now.toISOString();
  const days = daysSince(started, now);
  if (days < policy.orphanSnapshotGraceDays) {
    return {
      ...sized,
      action: 'keep' as const,
      reason: 'orphan-grace' as const,
      detail: `no image uses it; started ${days} days ago, grace ${policy.orphanSnapshotGraceDays} days`,
    };
  }
  return {
    ...sized,
    action: 'delete' as const,
    reason: 'orphan' as const,
    detail: `no image uses it${ami ? ` (made for ${ami})` : ''}; started ${days} days ago`,
    capKey: capKey(isoDate(started), region.region, snapshot.snapshotId),
  };
}

function planSnapshots(region: PruneInventory, images: readonly DraftImage[], policy: PrunePolicy, now: Date) {
  const users = new Map<string, string[]>();
  for (const image of region.images) {
    for (const id of image.snapshotIds) appendTo(users, id, image.imageId);
  }
  const actionOf = new Map(images.map((i) => [i.imageId, i.action]));
  const drafts: DraftSnapshot[] = [];
  for (const snapshot of region.snapshots) {
    const usedBy = users.get(snapshot.snapshotId) ?? [];
    if (usedBy.length === 0) {
      const orphan = planOrphan(snapshot, region, policy, now);
      if (orphan) drafts.push(orphan);
      continue;
    }
    const base = {
      snapshotId: snapshot.snapshotId,
      usedBy,
      volumeSizeGiB: snapshot.volumeSizeGiB,
      ...(snapshot.fullSizeBytes !== undefined && { fullSizeBytes: snapshot.fullSizeBytes }),
    };
    const remaining = usedBy.filter((id) => actionOf.get(id) !== 'deregister');
    if (remaining.length > 0) {
      const deferredOnly = remaining.every((id) => actionOf.get(id) === 'deferred');
      drafts.push(
        deferredOnly
          ? {
              ...base,
              action: 'deferred',
              reason: 'over-cap',
              detail:
                remaining.length > 1
                  ? `its images ${remaining.join(', ')} are deferred`
                  : `its image ${remaining[0]} is deferred`,
            }
          : { ...base, action: 'keep', reason: 'used-by-remaining-image', detail: `used by ${remaining.join(', ')}` },
      );
    } else if (snapshot.ownerId !== region.accountId) {
      drafts.push({ ...base, action: 'keep', reason: 'snapshot-not-owned', detail: `owned by ${snapshot.ownerId}` });
    } else if (snapshot.tags[policy.managedTag.key] !== policy.managedTag.value) {
      drafts.push({
        ...base,
        action: 'keep',
        reason: 'snapshot-untagged',
        detail: `its image is deregistered but the snapshot lacks the ${policy.managedTag.key} tag; adopt it`,
      });
    } else {
      drafts.push({
        ...base,
        action: 'delete',
        reason: 'image-deregistered',
        detail: `only ${usedBy.join(', ')} used it`,
      });
    }
  }
  return drafts;
}

function breakerFor(images: readonly DraftImage[], policy: PrunePolicy): BreakerDecision {
  const managedImages = images.filter((i) => !['unmanaged-name', 'not-owned', 'untagged'].includes(i.reason)).length;
  const plannedDeletions = images.filter((i) => i.action === 'deregister' || i.action === 'soft-delete').length;
  const share = managedImages === 0 ? 0 : plannedDeletions / managedImages;
  const exceeded = share > policy.maxDeleteShare;
  return {
    managedImages,
    plannedDeletions,
    share,
    limit: policy.maxDeleteShare,
    tripped: exceeded && !policy.overrideBreaker,
    overridden: exceeded && policy.overrideBreaker,
  };
}

const isDeletion = (action: string) => action === 'deregister' || action === 'soft-delete' || action === 'delete';

/**
 * Decides, for every image and snapshot of every region, whether it is deleted in this run and why. Pure: the
 * inventory, the policy and `now` are all it reads. Order of decisions: ownership (only parseable, owned, tagged
 * images are candidates), retention (age from the build date in the name), protections (SSM, deregistration
 * protection, recent launches, unsettled state), soft-delete staging, the per-region breaker, the per-run cap
 * (oldest first), and finally snapshots (deleted only when no remaining image uses them).
 */
export function planPrune(inventory: readonly PruneInventory[], policy: PrunePolicy, now: Date): PrunePlan {
  const regions = inventory.map((region) => {
    let images = planImages(region, policy, now);
    const breaker = breakerFor(images, policy);
    if (breaker.tripped) {
      const refused = `region would delete ${(breaker.share * 100).toFixed(0)}% of its ${breaker.managedImages} managed images, above safety.maxDeleteShare ${(breaker.limit * 100).toFixed(0)}%`;
      images = images.map((i) =>
        isDeletion(i.action) ? { ...i, action: 'keep', reason: 'breaker', detail: `${refused} (${i.detail})` } : i,
      );
    }
    return { region, images, breaker };
  });

  // Orphan snapshots take part in the cap before the snapshots of deregistered images are derived.
  const withOrphans = regions.map(({ region, images, breaker }) => {
    let orphans = planSnapshots(region, images, policy, now).filter((s) => s.usedBy.length === 0);
    if (breaker.tripped) {
      orphans = orphans.map((s) =>
        s.action === 'delete' ? { ...s, action: 'keep', reason: 'breaker', detail: 'region breaker tripped' } : s,
      );
    }
    return { region, images, breaker, orphans };
  });

  const candidates = withOrphans
    .flatMap(({ images, orphans }) => [
      ...images.filter((i) => isDeletion(i.action)).map((i) => i.capKey),
      ...orphans.filter((s) => s.action === 'delete').map((s) => s.capKey!),
    ])
    .sort();
  const inCap = new Set(
    policy.capBoundary !== undefined
      ? candidates.filter((key) => key <= policy.capBoundary!)
      : candidates.slice(0, policy.maxDeletionsPerRun),
  );
  const deferred = candidates.length - inCap.size;
  const capBoundary = policy.capBoundary ?? (deferred > 0 && inCap.size > 0 ? [...inCap].sort().at(-1) : undefined);
  const overCap = 'deletion cap for this run reached (safety.maxDeletionsPerRun); a later run deletes it';

  const plans: PruneRegionPlan[] = withOrphans.map(({ region, images, breaker, orphans }) => {
    const capped = images.map((i) =>
      isDeletion(i.action) && !inCap.has(i.capKey)
        ? { ...i, action: 'deferred' as const, reason: 'over-cap' as const, detail: `${overCap} (${i.detail})` }
        : i,
    );
    const used = planSnapshots(region, capped, policy, now).filter((s) => s.usedBy.length > 0);
    const cappedOrphans = orphans.map((s) =>
      s.action === 'delete' && !inCap.has(s.capKey!)
        ? { ...s, action: 'deferred' as const, reason: 'over-cap' as const, detail: `${overCap} (${s.detail})` }
        : s,
    );
    const snapshots = [...used, ...cappedOrphans].map(({ capKey: _key, ...entry }) => entry);
    const deleting = new Set(snapshots.filter((s) => s.action === 'delete').map((s) => s.snapshotId));
    const ordered = [...capped].sort((a, b) => (a.capKey < b.capKey ? -1 : a.capKey > b.capKey ? 1 : 0));
    return {
      region: region.region,
      images: ordered.map(({ capKey: _key, ...entry }) => ({
        ...entry,
        deleteAllSnapshots: entry.snapshotIds.length > 0 && entry.snapshotIds.every((id) => deleting.has(id)),
      })),
      snapshots,
      breaker,
    };
  });
  return {
    now: now.toISOString(),
    regions: plans,
    retiredLines: retiredLines(policy, now),
    ...(capBoundary !== undefined && { capBoundary }),
    deferred,
  };
}
