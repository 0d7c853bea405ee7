import { createHash } from 'node:crypto';
import { instanceTypeArchitecture, type PipelineConfig } from '../config';
import { compareBuilds } from '../naming/freebsd';
import type { Architecture, FileSystem, NamingProfile, ParsedImageName } from '../naming/types';
import { TAG } from '../tags';
import { type CostEstimate, estimateCost } from './cost';
import { DAY_MS } from '../time';

/** A builder image as DescribeImages lists it, with what the check needs to know of its root snapshot. */
export interface ReproImage {
  readonly imageId: string;
  readonly region: string;
  readonly name: string;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly rootSnapshotId?: string;
  readonly rootDeviceName?: string;
  readonly rootVolumeGiB?: number;
}

/** One reproducibility check: a builder image rebuilding its own image on one instance. */
export interface ReproCheck {
  /** `<week>/<imageId>`: unique per week; the history's sort key ends with it. */
  readonly key: string;
  readonly week: string;
  readonly imageId: string;
  readonly imageName: string;
  readonly seriesKey: string;
  readonly lineKey: string;
  readonly arch: Architecture;
  readonly flavour: string;
  readonly fs: FileSystem;
  /** Git branch and revision the image was built from, e.g. `main` and `abc1234`. */
  readonly gitBranch: string;
  readonly gitRevision: string;
  /** `<branch>@<revision>`, as the image description writes it. */
  readonly revision: string;
  readonly buildDate?: string;
  readonly instanceType: string;
  readonly rootSnapshotId: string;
  readonly rootVolumeGiB: number;
  readonly timeBudgetMinutes: number;
  readonly diffoscopeMinutes: number;
  /** Hours the instance may run: the budget and the grace after it. */
  readonly instanceHours: number;
  /** The check's prefix in the report bucket, `repro/<week>/<imageId>/`; each instance writes in a folder below it. */
  readonly reportPrefix: string;
  /** Deterministic, so a re-invoked launch never starts a second instance. */
  readonly clientToken: string;
  readonly reason: string;
}

/** An image the plan leaves out, with why. */
export interface ReproSkip {
  readonly imageId: string;
  readonly name: string;
  readonly reason: string;
}

/** What one week's run checks, what it leaves out and what it may cost. */
export interface ReproPlan {
  readonly week: string;
  readonly checks: ReproCheck[];
  readonly skipped: ReproSkip[];
  readonly cost: CostEstimate;
  /** Instance-hours of this week's checks already started, before this plan. */
  readonly usedInstanceHours: number;
}

/** A check already recorded for the week: counted against the caps and never started twice. */
export interface WeekUsage {
  readonly key: string;
  readonly instanceHours: number;
}

export interface ReproPlanOptions {
  readonly images: readonly ReproImage[];
  readonly config: PipelineConfig;
  readonly profile: NamingProfile;
  readonly now: Date;
  /** Images an operator named; they replace the default selection (still builder images, still within the caps). */
  readonly imageIds?: readonly string[];
  /** Instance type an operator named; it must be of the image's architecture. */
  readonly instanceType?: string;
  /** This week's checks already in the history. */
  readonly alreadyThisWeek?: readonly WeekUsage[];
}

/** ISO 8601 week of `now` in UTC, e.g. `2026-W49`: the unit of the caps and of the report's keys. */
export function isoWeek(now: Date): string {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / DAY_MS + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** The RunInstances ClientToken of a check (at most 64 ASCII characters). */
export function reproClientToken(runId: string, key: string): string {
  return `repro-${createHash('sha256').update(`${runId}\n${key}`).digest('hex').slice(0, 40)}`;
}

/** Where a check's outputs go in the report bucket. */
export function reproReportPrefix(week: string, imageId: string): string {
  return `repro/${week}/${imageId}/`;
}

/** A check instance's IAM user id (`aws:userid`): its role's unique id, then its instance id as the session name. */
export function checkInstanceUserId(roleId: string, instanceId: string): string {
  return `${roleId}:${instanceId}`;
}

/**
 * The folder one check instance writes to: under the check's prefix, named by the instance's IAM user id. The
 * instance role may put objects only into a folder of its own user id, so no instance writes where another check is
 * read, and a second check of the same image in a week gets a folder of its own.
 */
export function checkOutputFolder(check: Pick<ReproCheck, 'reportPrefix'>, roleId: string, instanceId: string): string {
  return `${check.reportPrefix}${checkInstanceUserId(roleId, instanceId)}/`;
}

function provenance(image: ReproImage, profile: NamingProfile): { gitBranch: string; gitRevision: string } | undefined {
  const described = profile.parseDescription(image.description);
  if (described) return { gitBranch: described.gitBranch, gitRevision: described.gitRevision };
  const gitBranch = image.tags?.[TAG.gitBranch];
  const gitRevision = image.tags?.[TAG.gitRevision];
  if (gitBranch && gitRevision && /^[A-Za-z0-9._/-]+$/.test(gitBranch) && /^[0-9a-f]{7,40}$/.test(gitRevision))
    return { gitBranch, gitRevision };
  return undefined;
}

const lineOf = (parsed: ParsedImageName) => parsed.lineKey.split('/')[0]!;

/**
 * Plans the week's reproducibility checks: by default the newest builder build of each configured line on each
 * configured architecture; an operator may name images instead. Every image left out says why, and the weekly caps
 * (checks and instance-hours, counting what already ran this week) refuse the checks that would pass them.
 */
export function planRepro(options: ReproPlanOptions): ReproPlan {
  const { config, profile } = options;
  const repro = config.repro;
  const week = isoWeek(options.now);
  const skipped: ReproSkip[] = [];
  const done = new Set((options.alreadyThisWeek ?? []).map((u) => u.key));
  const usedInstanceHours = (options.alreadyThisWeek ?? []).reduce((sum, u) => sum + u.instanceHours, 0);
  const lines = new Set(repro.lines.length ? repro.lines : config.series.lines);
  const requested = options.imageIds?.length ? new Set(options.imageIds) : undefined;

  const candidates: { image: ReproImage; parsed: ParsedImageName }[] = [];
  for (const image of options.images) {
    if (requested && !requested.has(image.imageId)) continue;
    const skip = (reason: string) => skipped.push({ imageId: image.imageId, name: image.name, reason });
    const parsed = profile.parse(image.name);
    if (!parsed.managed) skip(`name not understood: ${parsed.reason}`);
    else if (parsed.flavour !== 'builder') skip(`a ${parsed.flavour} image carries no release tooling`);
    else if (!requested && !repro.arches.includes(parsed.arch)) skip(`${parsed.arch} is not in repro.arches`);
    else if (!requested && !lines.has(lineOf(parsed))) skip(`line ${lineOf(parsed)} is not checked`);
    else candidates.push({ image, parsed });
  }
  for (const id of requested ?? [])
    if (!options.images.some((i) => i.imageId === id))
      skipped.push({ imageId: id, name: '', reason: 'not found among the builder images of the build region' });

  // The newest build of each line and architecture; older ones are named as superseded.
  const chosen = new Map<string, { image: ReproImage; parsed: ParsedImageName }>();
  for (const candidate of candidates) {
    const slot = requested ? candidate.image.imageId : candidate.parsed.lineKey;
    const current = chosen.get(slot);
    if (!current || compareBuilds(candidate.parsed, current.parsed) > 0) {
      if (current)
        skipped.push({ imageId: current.image.imageId, name: current.image.name, reason: 'a newer build of its line' });
      chosen.set(slot, candidate);
    } else
      skipped.push({
        imageId: candidate.image.imageId,
        name: candidate.image.name,
        reason: 'a newer build of its line',
      });
  }

  const checks: ReproCheck[] = [];
  const hoursPerCheck = (repro.timeBudgetMinutes + repro.graceMinutes) / 60;
  let hours = usedInstanceHours;
  let started = done.size;
  const ordered = [...chosen.values()].sort((a, b) => a.parsed.lineKey.localeCompare(b.parsed.lineKey));
  for (const { image, parsed } of ordered) {
    const skip = (reason: string) => skipped.push({ imageId: image.imageId, name: image.name, reason });
    const key = `${week}/${image.imageId}`;
    const source = provenance(image, profile);
    const instanceType = options.instanceType ?? repro.instanceTypes[parsed.arch][0]!;
    if (done.has(key)) skip(`already checked in ${week}`);
    else if (!source) skip('no revision: neither the description nor the git tags name one');
    else if (!image.rootSnapshotId) skip('no root snapshot to compare with');
    else if (instanceTypeArchitecture(instanceType) !== parsed.arch) skip(`${instanceType} cannot run ${parsed.arch}`);
    else if (started >= repro.maxChecksPerWeek)
      skip(`refused: repro.maxChecksPerWeek (${repro.maxChecksPerWeek}) checks already started or planned in ${week}`);
    else if (hours + hoursPerCheck > repro.maxInstanceHoursPerWeek)
      skip(
        `refused: ${round(hours + hoursPerCheck)} instance-hours would pass repro.maxInstanceHoursPerWeek (${repro.maxInstanceHoursPerWeek}) in ${week}`,
      );
    else {
      started++;
      hours += hoursPerCheck;
      checks.push({
        key,
        week,
        imageId: image.imageId,
        imageName: image.name,
        seriesKey: parsed.seriesKey,
        lineKey: parsed.lineKey,
        arch: parsed.arch,
        flavour: parsed.flavour,
        fs: parsed.fs,
        gitBranch: source.gitBranch,
        gitRevision: source.gitRevision,
        revision: `${source.gitBranch}@${source.gitRevision}`,
        buildDate: parsed.buildDate,
        instanceType,
        rootSnapshotId: image.rootSnapshotId,
        rootVolumeGiB: image.rootVolumeGiB ?? 10,
        timeBudgetMinutes: repro.timeBudgetMinutes,
        diffoscopeMinutes: repro.diffoscopeMinutes,
        instanceHours: hoursPerCheck,
        reportPrefix: reproReportPrefix(week, image.imageId),
        clientToken: reproClientToken(week, key),
        reason: requested
          ? 'named by the operator'
          : `newest builder build of ${parsed.lineKey} (${parsed.buildDate ?? parsed.version})`,
      });
    }
  }
  return {
    week,
    checks,
    skipped,
    cost: estimateCost(checks, config.buildRegion, repro.scratchVolumeGiB),
    usedInstanceHours,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;
