import type { PipelineConfig } from '../../core/config';
import { describeError, type ItemFailure } from '../../core/errors';
import { namingProfile } from '../../core/naming';
import type { NamingProfile } from '../../core/naming/types';
import {
  advanceCopies,
  type CopyProgress,
  copiesPending,
  expectedTags,
  nextPollSeconds,
  type PublishPlan,
  planPublish,
  planRegion,
  recordStarts,
  type SourceImage,
} from '../../core/publish';
import { type Logger, silentLogger } from '../../shared/logger';
import type { ClientFactory } from '../clients';
import { type Clock, RateLimiter, realClock } from '../rate-limiter';
import { resolveRegions } from '../regions';
import { type AnnounceResult, announce, type PublishedRegion } from './announce';
import { mapLimit } from '../../shared/concurrency';
import { type PublishContext, publishOptions } from './context';
import { deregisterCopy, observeImages, startCopy } from './copy';
import { type Discovery, discoverSources, loadSources, type SkippedImage } from './discover';
import { readRegionInventory } from './inventory';
import { type PreflightReport, preflightRegion } from './preflight';
import { applyActions, targetOf } from './apply';

/** Where the copies of one region stand between two polls; small enough for a Step Functions state. */
export interface RegionProgress {
  readonly region: string;
  /** Source image ids being published. */
  readonly images: string[];
  readonly pollSeconds: number;
  /** Seconds the workflow waits before the next poll. */
  readonly waitSeconds: number;
  /** After this ISO time, unfinished copies are reported as timed out. */
  readonly deadline: string;
  readonly pending: boolean;
  readonly copies: CopyProgress[];
  readonly preflight?: Pick<PreflightReport, 'blockPublicAccess' | 'publicImages' | 'problems' | 'notes'>;
  /** Set when the region cannot be published at all (preflight). */
  readonly failure?: string;
}

/** What publishing achieved in one region. */
export interface RegionOutcome {
  readonly region: string;
  readonly status: 'published' | 'partial' | 'failed';
  /** Source image id -> image id here, for images that are fully published in this region. */
  readonly published: Record<string, string>;
  readonly failed: ItemFailure[];
  readonly changes: number;
  readonly error?: string;
  readonly notes?: string[];
}

/** Result of the discovery step: what the run publishes, where. */
export interface DiscoverResult {
  readonly buildRegion: string;
  readonly regions: string[];
  readonly images: string[];
  /** Source image id -> name, so that what reads the run's output can say which builds it published. */
  readonly names: Record<string, string>;
  readonly count: number;
  readonly pollSeconds: number;
  readonly skipped: SkippedImage[];
}

const MAX_ERROR = 400;
const MAX_SKIPPED = 50;

function short(text: string): string {
  return text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR - 3)}...` : text;
}

/** Finds what this run publishes: new sources (or the named ones) and the regions it publishes them to. */
export async function discoverStep(
  ctx: PublishContext,
  input: { readonly regions: readonly string[]; readonly imageIds?: readonly string[]; readonly pollSeconds?: number },
): Promise<DiscoverResult & { readonly discovery: Discovery }> {
  const discovery = await discoverSources(ctx, { imageIds: input.imageIds });
  return {
    buildRegion: ctx.config.buildRegion,
    regions: [...input.regions],
    images: discovery.sources.map((s) => s.imageId),
    names: Object.fromEntries(discovery.sources.map((s) => [s.imageId, s.name])),
    count: discovery.sources.length,
    pollSeconds: input.pollSeconds ?? ctx.config.publish.pollIntervalSeconds,
    skipped: discovery.skipped.slice(0, MAX_SKIPPED),
    discovery,
  };
}

async function startQueued(
  ctx: PublishContext,
  region: string,
  copies: CopyProgress[],
  start: readonly string[],
  sources: readonly SourceImage[],
): Promise<CopyProgress[]> {
  if (start.length === 0) return copies;
  const options = publishOptions(ctx.config);
  const started: Record<string, { imageId?: string; error?: string }> = {};
  await mapLimit(start, ctx.config.publish.copyConcurrency, async (sourceId) => {
    const source = sources.find((s) => s.imageId === sourceId);
    const copy = copies.find((c) => c.source === sourceId)!;
    if (!source) {
      started[sourceId] = { error: `source ${sourceId} is no longer available in ${ctx.config.buildRegion}` };
      return;
    }
    try {
      const tags = expectedTags(source, region, options);
      started[sourceId] = { imageId: await startCopy(ctx, region, source, copy.attempt + 1, tags) };
    } catch (error) {
      started[sourceId] = { error: short(describeError(error).message) };
    }
  });
  return recordStarts(copies, started);
}

/** Reads what a region already has of `images` and plans what is missing there. */
async function planRegionNow(
  ctx: PublishContext,
  region: string,
  images: readonly string[],
  read: { readonly ssm: boolean; readonly attributes: boolean },
) {
  const sources = await loadSources(ctx, images);
  const inventory = await readRegionInventory(ctx, region, sources, read);
  const plan = planRegion({
    sources,
    inventory,
    options: publishOptions(ctx.config),
    profile: ctx.profile,
    now: ctx.now(),
  });
  return { sources, plan };
}

/**
 * First step in a region: preflight, find what exists (by name), deregister dead copies and start the missing
 * ones up to `publish.copyConcurrency`. Returns the progress the poll loop carries on with.
 */
export async function prepareRegion(
  ctx: PublishContext,
  input: {
    readonly region: string;
    readonly images: readonly string[];
    readonly pollSeconds: number;
    readonly startedAt?: string;
  },
): Promise<RegionProgress> {
  const { region } = input;
  const startedAt = input.startedAt ? Date.parse(input.startedAt) : ctx.now().getTime();
  const base = {
    region,
    images: [...input.images],
    pollSeconds: input.pollSeconds,
    // The first look comes at once: copies that are done quickly (an image copied before under the same token, a
    // small image, an emulator) go on to Finalize without waiting a whole interval.
    waitSeconds: 0,
    deadline: new Date(startedAt + ctx.config.publish.copyTimeoutMinutes * 60_000).toISOString(),
  };
  const preflight = await preflightRegion(ctx, region, { incoming: input.images.length });
  const summary = {
    blockPublicAccess: preflight.blockPublicAccess,
    publicImages: preflight.publicImages,
    problems: preflight.problems,
    notes: preflight.notes,
  };
  if (!preflight.ok) {
    ctx.logger.warn('region failed preflight', { region, problems: preflight.problems });
    return { ...base, pending: false, copies: [], preflight: summary, failure: preflight.problems.join('; ') };
  }
  const { sources, plan } = await planRegionNow(ctx, region, input.images, { ssm: false, attributes: false });
  let copies: CopyProgress[] = [];
  for (const image of plan.images) {
    const { copy } = image;
    if (copy.action === 'source') continue;
    if (copy.action === 'exists' && copy.state === 'available') {
      copies.push({
        source: image.sourceImageId,
        name: image.name,
        imageId: copy.imageId,
        attempt: 1,
        state: 'available',
      });
    } else if (copy.action === 'exists') {
      copies.push({
        source: image.sourceImageId,
        name: image.name,
        imageId: copy.imageId,
        attempt: 1,
        state: 'copying',
      });
    } else {
      if (copy.action === 'recopy' && copy.imageId) await deregisterCopy(ctx, region, copy.imageId);
      // A dead copy found from an earlier run counts as one attempt, so the next client token is a fresh one.
      const attempt = copy.action === 'recopy' ? 1 : 0;
      copies.push({ source: image.sourceImageId, name: image.name, attempt, state: 'queued' });
    }
  }
  const step = advanceCopies(
    copies,
    {},
    {
      now: ctx.now(),
      deadline: base.deadline,
      maxAttempts: ctx.config.publish.maxCopyAttempts,
      concurrency: ctx.config.publish.copyConcurrency,
    },
  );
  copies = await startQueued(ctx, region, step.copies, step.start, sources);
  ctx.logger.info('region prepared', {
    region,
    started: step.start.length,
    existing: copies.filter((c) => c.state === 'available').length,
  });
  return { ...base, pending: copiesPending(copies), copies, preflight: summary };
}

/** After the first look (at once), the configured interval; from then on doubling. */
function waitAfterPoll(progress: RegionProgress): number {
  return progress.waitSeconds < progress.pollSeconds ? progress.pollSeconds : nextPollSeconds(progress.waitSeconds);
}

/** One poll of a region: one DescribeImages for all its copies in flight, then retries and new starts. */
export async function pollRegion(ctx: PublishContext, progress: RegionProgress): Promise<RegionProgress> {
  if (!progress.pending) return progress;
  const { region } = progress;
  const inFlight = progress.copies.flatMap((c) => (c.state === 'copying' && c.imageId ? [c.imageId] : []));
  const observed = inFlight.length > 0 ? await observeImages(ctx, region, inFlight) : {};
  const step = advanceCopies(progress.copies, observed, {
    now: ctx.now(),
    deadline: progress.deadline,
    maxAttempts: ctx.config.publish.maxCopyAttempts,
    concurrency: ctx.config.publish.copyConcurrency,
  });
  for (const imageId of step.deregister) {
    try {
      await deregisterCopy(ctx, region, imageId, observed[imageId]?.snapshotIds);
    } catch (error) {
      ctx.logger.warn('failed copy could not be deregistered', {
        region,
        imageId,
        error: describeError(error).message,
      });
    }
  }
  const sources = step.start.length > 0 ? await loadSources(ctx, progress.images) : [];
  const copies = await startQueued(ctx, region, step.copies, step.start, sources);
  ctx.logger.info('region polled', {
    region,
    available: copies.filter((c) => c.state === 'available').length,
    copying: copies.filter((c) => c.state === 'copying').length,
    failed: copies.filter((c) => c.state === 'failed').length,
  });
  return { ...progress, copies, pending: copiesPending(copies), waitSeconds: waitAfterPoll(progress) };
}

/**
 * Last step in a region: plan again on what is there now and apply every missing change (tags, public AMI and
 * snapshots, deprecation, SSM forward only). Per-image failures are listed; the region is `partial` if some
 * images made it.
 */
export async function finalizeRegion(ctx: PublishContext, progress: RegionProgress): Promise<RegionOutcome> {
  const { region } = progress;
  const notes = progress.preflight?.notes ?? [];
  if (progress.failure) {
    return { region, status: 'failed', published: {}, failed: [], changes: 0, error: short(progress.failure), notes };
  }
  const { sources, plan } = await planRegionNow(ctx, region, progress.images, { ssm: true, attributes: true });
  const owner = new Map(plan.images.flatMap((i) => i.actions.map((a) => [a, i.sourceImageId] as const)));
  const applied = await applyActions(
    ctx,
    region,
    plan.images.flatMap((i) => i.actions),
    (action) => `${owner.get(action)}/${action.kind}:${targetOf(action)}`,
  );
  const failed: ItemFailure[] = [];
  const published: Record<string, string> = {};
  for (const image of plan.images) {
    const copy = progress.copies.find((c) => c.source === image.sourceImageId);
    const imageId = image.copy.imageId;
    const changeFailures = applied.failed.filter((f) => f.id.startsWith(`${image.sourceImageId}/`));
    if (copy?.state === 'failed')
      failed.push({ id: image.sourceImageId, region, error: short(copy.error ?? 'copy failed') });
    else if (!imageId || image.copy.state !== 'available') {
      failed.push({ id: image.sourceImageId, region, error: `no available image (${image.reason})` });
    } else if (changeFailures.length > 0) failed.push(...changeFailures);
    else published[image.sourceImageId] = imageId;
  }
  for (const id of progress.images) {
    if (!sources.some((s) => s.imageId === id))
      failed.push({ id, region, error: 'source image is no longer available' });
  }
  const count = Object.keys(published).length;
  const status = failed.length === 0 ? 'published' : count > 0 ? 'partial' : 'failed';
  ctx.logger.info('region finalized', {
    region,
    status,
    published: count,
    failed: failed.length,
    changes: applied.succeeded.length,
  });
  return { region, status, published, failed, changes: applied.succeeded.length, notes };
}

/** A region outcome as the workflow's failure branch reports it (only the region and the error). */
export interface FailedRegion {
  readonly region: string;
  readonly status: 'failed';
  readonly error: string;
}

/** Announces what this run published and marks complete sources; lists every region that failed. */
export async function announceStep(
  ctx: PublishContext,
  input: {
    readonly images: readonly string[];
    readonly outcomes: readonly (RegionOutcome | FailedRegion)[];
    readonly topicArn?: string;
  },
): Promise<AnnounceResult & { readonly failedRegions: string[]; readonly failures: ItemFailure[] }> {
  const sources = await loadSources(ctx, input.images);
  const regions: PublishedRegion[] = input.outcomes.map((outcome) => {
    const missing: Record<string, string> = {};
    if ('failed' in outcome) for (const f of outcome.failed) missing[f.id.split('/')[0]!] ??= f.error;
    if (outcome.error) missing['*'] = outcome.error;
    return { region: outcome.region, published: 'published' in outcome ? outcome.published : {}, missing };
  });
  // A run that changed nothing (a manual re-check of published images) does not mail the list again.
  const changed = input.outcomes.some((o) => 'changes' in o && o.changes > 0);
  const result = await announce(ctx, sources, regions, changed ? input.topicArn : undefined);
  const failures: ItemFailure[] = input.outcomes.flatMap((o) => [
    ...('failed' in o ? o.failed : []),
    ...(o.error && o.status === 'failed' ? [{ id: '*', region: o.region, error: o.error }] : []),
  ]);
  failures.push(...result.failed);
  const failedRegions = input.outcomes.filter((o) => o.status !== 'published').map((o) => o.region);
  ctx.logger.info('publish announced', {
    messages: result.messages,
    failedRegions,
    marked: result.markedPublished.length,
  });
  return { ...result, failedRegions, failures };
}

/** Options of an in-process publish run (CLI, demo, end-to-end tests). */
export interface RunPublishOptions {
  readonly config: PipelineConfig;
  readonly clients: ClientFactory;
  readonly now?: () => Date;
  readonly logger?: Logger;
  readonly limiter?: RateLimiter;
  /** Waits between polls; tests pass a no-op or a fake clock. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly profile?: NamingProfile;
  /** Publish these source images (even if already marked published) instead of discovering new ones. */
  readonly imageIds?: readonly string[];
  /** Restrict the run to these regions (they must still be enabled and allowed). */
  readonly regions?: readonly string[];
  readonly pollSeconds?: number;
  /** Announcement topic; without it nothing is announced, but sources are still marked published. */
  readonly topicArn?: string;
  readonly onProgress?: (progress: RegionProgress) => void;
}

/** Result of a whole run: every region's outcome, the announcement, and everything that failed. */
export interface PublishResult {
  readonly buildRegion: string;
  readonly regions: string[];
  readonly sources: { readonly imageId: string; readonly name: string }[];
  readonly skipped: SkippedImage[];
  readonly outcomes: RegionOutcome[];
  readonly announcement?: AnnounceResult;
  readonly failures: ItemFailure[];
}

/** Builds the context every step runs with, filling in defaults. */
export function publishContext(options: RunPublishOptions, clock: Clock = realClock): PublishContext {
  return {
    config: options.config,
    clients: options.clients,
    limiter: options.limiter ?? new RateLimiter(undefined, clock),
    logger: options.logger ?? silentLogger,
    profile: options.profile ?? namingProfile(options.config.naming.profile),
    now: options.now ?? (() => new Date(clock.now())),
  };
}

async function selectedRegions(ctx: PublishContext, restrict: readonly string[] | undefined): Promise<string[]> {
  return (await resolveRegions(ctx.clients, ctx.config, restrict)).selected;
}

/** The plan a run would execute, with each region's preflight, touching nothing (`--dry-run`). */
export async function planRun(options: RunPublishOptions): Promise<{
  readonly discovery: Discovery;
  readonly preflight: PreflightReport[];
  readonly plan: PublishPlan;
}> {
  const ctx = publishContext(options);
  const regions = await selectedRegions(ctx, options.regions);
  const discovery = await discoverSources(ctx, { imageIds: options.imageIds });
  const preflight = await mapLimit(regions, ctx.config.publish.regionConcurrency, (region) =>
    preflightRegion(ctx, region, { dryRun: true }),
  );
  const inventories = await mapLimit(regions, ctx.config.publish.regionConcurrency, (region) =>
    readRegionInventory(ctx, region, discovery.sources, { ssm: true, attributes: true }),
  );
  const plan = planPublish({
    sources: discovery.sources,
    inventories,
    options: publishOptions(ctx.config),
    profile: ctx.profile,
    now: ctx.now(),
  });
  return { discovery, preflight, plan };
}
