import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { PipelineConfig } from '../../core/config';
import { describeError, type ItemFailure } from '../../core/errors';
import { namingProfile } from '../../core/naming';
import type { NamingProfile } from '../../core/naming/types';
import {
  abandonPending,
  admitNamed,
  advanceCopies,
  type CopyLimits,
  type CopyProgress,
  copiesPending,
  type DiscoveryCandidate,
  type DiscoveryPlan,
  expectedTags,
  groupFailures,
  isSettled,
  nextPollSeconds,
  type PairFailure,
  type PairRecord,
  type PublishPlan,
  planDiscovery,
  planPublish,
  planRegion,
  recordStarts,
  regionHorizonMinutes,
  regionPollBudget,
  type SnapshotSharing,
  type SourceImage,
} from '../../core/publish';
import type { RegionSelection } from '../../core/regions';
import { mapLimit } from '../../shared/concurrency';
import { type Logger, silentLogger } from '../../shared/logger';
import type { ClientFactory } from '../clients';
import { type Clock, RateLimiter, realClock } from '../rate-limiter';
import { resolveRegions } from '../regions';
import { type AnnounceResult, announce, type PublishedRegion } from './announce';
import { applyImages, targetOf } from './apply';
import { type PublishContext, publishOptions } from './context';
import { deregisterCopy, observeImages, startCopy } from './copy';
import { type Discovery, discoverSources, loadSources, type SkippedImage } from './discover';
import { readPublishInventory } from './inventory';
import { type LedgerRows, MemoryLedger, type PairUpdate, type PublishLedger } from './ledger';
import { type PreflightReport, preflightRegion, readSnapshotSharing } from './preflight';

/** Where the copies of one region stand between two polls; small enough for a Step Functions state. */
export interface RegionProgress {
  readonly region: string;
  /** The execution's name: it keeps CopyImage tokens stable within the run and new in the next one. */
  readonly runId: string;
  /** Source image ids still to publish in this region (its pairs not yet published). */
  readonly images: string[];
  readonly pollSeconds: number;
  /** Seconds the workflow waits before the next poll. */
  readonly waitSeconds: number;
  /** Polls made so far; the region's budget of history events bounds them. */
  readonly polls: number;
  /** The latest any copy of this region may still be pending (ISO): its waves and attempts, each timed out alone. */
  readonly endsAt: string;
  readonly pending: boolean;
  readonly copies: CopyProgress[];
  readonly preflight?: Pick<PreflightReport, 'blockPublicAccess' | 'publicImages' | 'problems' | 'notes'>;
  /** Set when the region cannot be published at all (preflight). */
  readonly failure?: string;
}

/** What a run achieved in one region, in counts: the ledger holds the pairs, the Map collects only this. */
export interface RegionSummary {
  readonly region: string;
  readonly status: 'published' | 'partial' | 'failed';
  /** Pairs the run worked on here (the sources not yet published in the region). */
  readonly pairs: number;
  readonly published: number;
  readonly failed: number;
  /** Changes applied (tags, permissions, deprecations, SSM writes). */
  readonly changes: number;
  /** Why the whole region failed. */
  readonly error?: string;
  readonly notes?: string[];
}

/** An `aws:ec2:image` parameter written in this run, to read back once SSM has validated it. */
export interface ParameterCheck {
  readonly parameter: string;
  readonly imageId: string;
  readonly source: string;
  readonly name: string;
}

/** Finalize's result: the region's summary and the parameters to read back after SSM's asynchronous validation. */
export interface FinalizeResult {
  readonly region: string;
  readonly summary: RegionSummary;
  readonly verify?: {
    readonly runId: string;
    /** Seconds to give SSM's validation before reading back. */
    readonly waitSeconds: number;
    readonly parameters: ParameterCheck[];
  };
}

/** Result of the discovery step: what the run publishes, where, and what it leaves. */
export interface DiscoverResult {
  readonly buildRegion: string;
  readonly regions: string[];
  /** Source image ids this run takes, newest first. */
  readonly images: string[];
  /** Sources taken for the first time (new builds), for the boot test. */
  readonly fresh: string[];
  readonly count: number;
  readonly pollSeconds: number;
  /** A run naming its sources re-checks every region, published or not. */
  readonly recheck: boolean;
  readonly complete: number;
  readonly deferred: number;
  readonly untracked: number;
  readonly skipped: SkippedImage[];
  /** Pairs given up at this run (grouped), reported once. */
  readonly gaveUp: ItemFailure[];
  readonly gaveUpCount: number;
}

const MAX_ERROR = 400;
const MAX_SKIPPED = 50;
const MAX_LISTED = 50;
const MAX_NOTES = 5;

function short(text: string): string {
  return text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR - 3)}...` : text;
}

function statusOf(published: number, failed: number): RegionSummary['status'] {
  if (failed === 0) return 'published';
  return published > 0 ? 'partial' : 'failed';
}

function createdAtOf(source: SourceImage): string {
  return (
    source.createdAt ??
    (source.parsed.buildDate ? `${source.parsed.buildDate}T00:00:00.000Z` : '1970-01-01T00:00:00.000Z')
  );
}

/** The sources a run takes and the rows it writes first, decided from the build region and the ledger. */
interface SourceDecision {
  readonly discovery: Discovery;
  readonly plan: DiscoveryPlan;
  readonly sources: SourceImage[];
  readonly recheck: boolean;
}

async function decideSources(
  ctx: PublishContext,
  input: { readonly regions: readonly string[]; readonly imageIds?: readonly string[]; readonly runId: string },
): Promise<SourceDecision> {
  const named = input.imageIds && input.imageIds.length > 0;
  const discovery = await discoverSources(ctx, { imageIds: input.imageIds });
  const { maxSourcesPerRun, giveUpAfterDays } = ctx.config.publish;
  const now = ctx.now();
  if (named) {
    const taken = discovery.sources.slice(0, maxSourcesPerRun);
    const over = discovery.sources.slice(maxSourcesPerRun);
    const rows = await ctx.ledger.rowsOf(taken.map((s) => s.imageId));
    const ids = taken.map((s) => s.imageId);
    return {
      discovery: {
        ...discovery,
        skipped: [
          ...discovery.skipped,
          ...over.map((s) => ({ imageId: s.imageId, name: s.name, reason: 'over publish.maxSourcesPerRun' })),
        ],
      },
      plan: {
        take: ids,
        fresh: ids,
        deferred: [],
        complete: 0,
        untracked: 0,
        writes: admitNamed(taken, rows, input.regions, input.runId, now),
        gaveUp: [],
      },
      sources: taken,
      recheck: true,
    };
  }
  const candidates: DiscoveryCandidate[] = discovery.sources.map((source) => ({
    imageId: source.imageId,
    name: source.name,
    createdAt: createdAtOf(source),
    legacyPublishedAt: discovery.legacyPublishedAt[source.imageId],
  }));
  const rows = await ctx.ledger.rowsOf(candidates.filter((c) => !c.legacyPublishedAt).map((c) => c.imageId));
  const plan = planDiscovery(candidates, rows, {
    regions: input.regions,
    now,
    giveUpAfterDays,
    maxSourcesPerRun,
    runId: input.runId,
  });
  const byId = new Map(discovery.sources.map((s) => [s.imageId, s]));
  return { discovery, plan, sources: plan.take.map((id) => byId.get(id)!), recheck: false };
}

/**
 * Finds what this run publishes: the sources with pairs not yet published (or the named ones), newest first and at
 * most `publish.maxSourcesPerRun`, after recording in the ledger every pair it takes on and every pair it gives up.
 */
export async function discoverStep(
  ctx: PublishContext,
  input: {
    readonly regions: readonly string[];
    readonly imageIds?: readonly string[];
    readonly pollSeconds?: number;
    readonly runId: string;
  },
): Promise<DiscoverResult> {
  const { discovery, plan, sources, recheck } = await decideSources(ctx, input);
  await ctx.ledger.put(plan.writes);
  if (plan.gaveUp.length > 0) ctx.logger.warn('pairs given up', { pairs: plan.gaveUp.length });
  return {
    buildRegion: ctx.config.buildRegion,
    regions: [...input.regions],
    images: sources.map((s) => s.imageId),
    fresh: plan.fresh,
    count: sources.length,
    pollSeconds: input.pollSeconds ?? ctx.config.publish.pollIntervalSeconds,
    recheck,
    complete: plan.complete,
    deferred: plan.deferred.length,
    untracked: plan.untracked,
    skipped: [
      ...plan.deferred.map((id) => ({
        imageId: id,
        name: discovery.sources.find((s) => s.imageId === id)?.name ?? '',
        reason: 'deferred to a later run by publish.maxSourcesPerRun',
      })),
      ...discovery.skipped,
    ].slice(0, MAX_SKIPPED),
    gaveUp: groupFailures(plan.gaveUp, MAX_LISTED, 'GaveUp'),
    gaveUpCount: plan.gaveUp.length,
  };
}

/**
 * Starts the copies of `start` (source ids) through `startCopy`, each with its run's ClientToken and the tags publish
 * gives, and records each start or the error that stopped it.
 */
export async function startQueued(
  ctx: PublishContext,
  region: string,
  runId: string,
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
      started[sourceId] = { imageId: await startCopy(ctx, region, source, copy.attempt + 1, runId, tags) };
    } catch (error) {
      const { message, code } = describeError(error);
      started[sourceId] = { error: short(code && !message.includes(code) ? `${code}: ${message}` : message) };
    }
  });
  return recordStarts(copies, started, ctx.now());
}

/** Reads what a region already has of `images` and plans what is missing there. */
async function planRegionNow(
  ctx: PublishContext,
  region: string,
  images: readonly string[],
  read: { readonly ssm: boolean; readonly attributes: boolean },
  snapshotSharing?: SnapshotSharing,
) {
  const sources = await loadSources(ctx, images);
  const inventory = await readPublishInventory(ctx, region, sources, read);
  const plan = planRegion({
    sources,
    inventory,
    options: publishOptions(ctx.config),
    profile: ctx.profile,
    now: ctx.now(),
    snapshotSharing,
  });
  return { sources, plan };
}

/** The copy limits of a run, from the publish configuration. */
export function copyLimits(ctx: PublishContext): CopyLimits {
  const { publish } = ctx.config;
  return {
    now: ctx.now(),
    copyTimeoutMs: publish.copyTimeoutMinutes * 60_000,
    maxAttempts: publish.maxCopyAttempts,
    concurrency: publish.copyConcurrency,
  };
}

/**
 * First step in a region: keep only the sources not yet published there (all of them when re-checking), preflight,
 * find what exists (by name), deregister failed copies and start the missing ones up to `publish.copyConcurrency`,
 * each with its own deadline. Returns the progress the poll loop carries on with.
 */
export async function prepareRegion(
  ctx: PublishContext,
  input: {
    readonly region: string;
    readonly images: readonly string[];
    readonly pollSeconds: number;
    readonly runId: string;
    readonly recheck?: boolean;
  },
): Promise<RegionProgress> {
  const { region, runId } = input;
  const now = ctx.now();
  const known = input.recheck ? new Map<string, PairRecord>() : await ctx.ledger.inRegion(region, input.images);
  const images = input.images.filter((id) => !isSettled(known.get(id)));
  const base = {
    region,
    runId,
    images,
    pollSeconds: input.pollSeconds,
    // The first look comes at once: copies that are done quickly (an image copied before under the same token, a
    // small image, an emulator) go on to Finalize without waiting a whole interval.
    waitSeconds: 0,
    polls: 0,
    endsAt: new Date(now.getTime() + regionHorizonMinutes(ctx.config.publish) * 60_000).toISOString(),
  };
  if (images.length === 0) return { ...base, pending: false, copies: [] };
  const preflight = await preflightRegion(ctx, region, { incoming: images.length });
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
  const { sources, plan } = await planRegionNow(ctx, region, images, { ssm: false, attributes: false });
  const copies: CopyProgress[] = [];
  for (const image of plan.images) {
    const { copy } = image;
    const entry = { source: image.sourceImageId, name: image.name };
    if (copy.action === 'source') continue;
    if (copy.action === 'exists') {
      // A copy found pending (started by an earlier run) gets a full timeout from now.
      const state = copy.state === 'available' ? 'available' : 'copying';
      copies.push({ ...entry, imageId: copy.imageId, attempt: 1, state, startedAt: now.toISOString() });
    } else {
      if (copy.action === 'recopy' && copy.imageId) await deregisterCopy(ctx, region, copy.imageId);
      copies.push({ ...entry, attempt: 0, state: 'queued' });
    }
  }
  const step = advanceCopies(copies, {}, copyLimits(ctx));
  const started = await startQueued(ctx, region, runId, step.copies, step.start, sources);
  ctx.logger.info('region prepared', {
    region,
    pairs: images.length,
    started: step.start.length,
    existing: started.filter((c) => c.state === 'available').length,
  });
  return { ...base, pending: copiesPending(started), copies: started, preflight: summary };
}

/**
 * One poll of a region: one DescribeImages for all its copies in flight, then retries and new starts. The next wait
 * starts again from the configured interval when copies started, and otherwise doubles, within the region's budget.
 */
export async function pollRegion(ctx: PublishContext, progress: RegionProgress): Promise<RegionProgress> {
  if (!progress.pending) return progress;
  const { region } = progress;
  const inFlight = progress.copies.flatMap((c) => (c.state === 'copying' && c.imageId ? [c.imageId] : []));
  const observed = inFlight.length > 0 ? await observeImages(ctx, region, inFlight) : {};
  const step = advanceCopies(progress.copies, observed, copyLimits(ctx));
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
  const polls = progress.polls + 1;
  const budget = regionPollBudget();
  if (polls >= budget) {
    const copies = abandonPending(step.copies, `not available after ${polls} polls, the region's share of the history`);
    ctx.logger.warn('region out of polls', { region, polls });
    return { ...progress, copies, pending: false, polls };
  }
  const sources = step.start.length > 0 ? await loadSources(ctx, step.start) : [];
  const copies = await startQueued(ctx, region, progress.runId, step.copies, step.start, sources);
  const waitSeconds = nextPollSeconds({
    pollSeconds: progress.pollSeconds,
    currentSeconds: progress.waitSeconds,
    started: step.start.length > 0,
    polls,
    secondsLeft: (Date.parse(progress.endsAt) - ctx.now().getTime()) / 1000,
    budget,
  });
  ctx.logger.info('region polled', {
    region,
    available: copies.filter((c) => c.state === 'available').length,
    copying: copies.filter((c) => c.state === 'copying').length,
    failed: copies.filter((c) => c.state === 'failed').length,
    started: step.start.length,
    waitSeconds,
  });
  return { ...progress, copies, pending: copiesPending(copies), waitSeconds, polls };
}

/**
 * Seconds before SSM values are read back: Parameter Store validates an `aws:ec2:image` value within seconds of the
 * write, so a short wait is enough whatever the copies' poll interval (0 keeps tests and emulator runs waitless).
 */
export function verifyWaitSeconds(pollSeconds: number): number {
  return pollSeconds <= 0 ? 0 : Math.min(pollSeconds, SSM_VALIDATION_SECONDS);
}

/** Time Parameter Store takes at most to validate an `aws:ec2:image` value, with room to spare. */
const SSM_VALIDATION_SECONDS = 15;

async function failRegion(ctx: PublishContext, progress: RegionProgress, notes: string[]): Promise<FinalizeResult> {
  const { region, runId } = progress;
  const error = short(progress.failure ?? 'region failed');
  const sources = await loadSources(ctx, progress.images);
  const names = new Map(sources.map((s) => [s.imageId, s.name]));
  const at = ctx.now();
  await ctx.ledger.record(
    progress.images.map((source) => ({
      source,
      region,
      status: 'failed' as const,
      sourceName: names.get(source) ?? '',
      error,
      runId,
      at,
    })),
  );
  const pairs = progress.images.length;
  return {
    region,
    summary: { region, status: 'failed', pairs, published: 0, failed: pairs, changes: 0, error, notes },
  };
}

/**
 * Last step in a region: plan again on what is there now (with the region's snapshot block public access) and apply
 * each image's changes in order, stopping an image at its first failure. Records every pair in the ledger:
 * `published`, `failed` with why, or `verifying` when an SSM parameter was written, which VerifyParameters reads back.
 */
export async function finalizeRegion(ctx: PublishContext, progress: RegionProgress): Promise<FinalizeResult> {
  const { region, runId } = progress;
  const notes = (progress.preflight?.notes ?? []).slice(0, MAX_NOTES);
  if (progress.failure) return failRegion(ctx, progress, notes);
  if (progress.images.length === 0) {
    return { region, summary: { region, status: 'published', pairs: 0, published: 0, failed: 0, changes: 0, notes } };
  }
  const sharing = ctx.config.publish.makeSnapshotPublic ? (await readSnapshotSharing(ctx, region)).state : 'unblocked';
  const { sources, plan } = await planRegionNow(ctx, region, progress.images, { ssm: true, attributes: true }, sharing);
  const applied = await applyImages(
    ctx,
    region,
    plan.images.map((i) => ({ id: i.sourceImageId, actions: i.actions })),
  );
  const at = ctx.now();
  const updates: PairUpdate[] = [];
  const parameters: ParameterCheck[] = [];
  let changes = 0;
  for (const image of plan.images) {
    const copy = progress.copies.find((c) => c.source === image.sourceImageId);
    const result = applied.get(image.sourceImageId);
    changes += result?.applied ?? 0;
    const imageId = image.copy.imageId;
    let error: string | undefined;
    if (copy?.state === 'failed') error = copy.error ?? 'copy failed';
    else if (!imageId || image.copy.state !== 'available') error = `no available image (${image.reason})`;
    else if (result?.failure) {
      const { action, error: why } = result.failure;
      const skipped = result.skipped.map((a) => a.kind);
      error = `${action.kind} of ${targetOf(action)} failed: ${why}${skipped.length ? `; not done: ${skipped.join(', ')}` : ''}`;
    } else if (image.blocked.length > 0) error = image.blocked.join('; ');
    const ssm = result?.failure ? undefined : image.actions.find((a) => a.kind === 'ssm');
    if (!error && ssm?.kind === 'ssm') {
      parameters.push({
        parameter: ssm.parameter,
        imageId: ssm.imageId,
        source: image.sourceImageId,
        name: image.name,
      });
    }
    const status = error ? 'failed' : ssm ? 'verifying' : 'published';
    updates.push({
      source: image.sourceImageId,
      region,
      status,
      sourceName: image.name,
      imageId,
      error: error && short(error),
      runId,
      at,
    });
  }
  for (const id of progress.images) {
    if (!sources.some((s) => s.imageId === id)) {
      updates.push({
        source: id,
        region,
        status: 'failed',
        sourceName: progress.copies.find((c) => c.source === id)?.name ?? '',
        error: `source image is no longer available in ${ctx.config.buildRegion}`,
        runId,
        at,
      });
    }
  }
  await ctx.ledger.record(updates);
  const failed = updates.filter((u) => u.status === 'failed').length;
  const published = updates.length - failed;
  const summary: RegionSummary = {
    region,
    status: statusOf(published, failed),
    pairs: progress.images.length,
    published,
    failed,
    changes,
    notes,
  };
  ctx.logger.info('region finalized', { ...summary, parameters: parameters.length });
  return parameters.length > 0
    ? { region, summary, verify: { runId, waitSeconds: verifyWaitSeconds(progress.pollSeconds), parameters } }
    : { region, summary };
}

/**
 * Reads back the `aws:ec2:image` parameters Finalize wrote: SSM validates them after PutParameter has answered, and
 * drops a write it finds invalid. A pair whose parameter does not point at its image is recorded failed (the next
 * run writes it again); the others are published.
 */
export async function verifyParameters(ctx: PublishContext, result: FinalizeResult): Promise<RegionSummary> {
  const { region, summary, verify } = result;
  if (!verify) return summary;
  const values = new Map<string, string>();
  const names = [...new Set(verify.parameters.map((p) => p.parameter))];
  for (let i = 0; i < names.length; i += 10) {
    const answer = await ctx.clients
      .client(SSMClient, region)
      .send(new GetParametersCommand({ Names: names.slice(i, i + 10) }));
    for (const parameter of answer.Parameters ?? []) {
      if (parameter.Name && parameter.Value) values.set(parameter.Name, parameter.Value);
    }
  }
  const at = ctx.now();
  const updates: PairUpdate[] = verify.parameters.map((check) => {
    const value = values.get(check.parameter);
    const took = value === check.imageId;
    return {
      source: check.source,
      region,
      status: took ? 'published' : 'failed',
      sourceName: check.name,
      imageId: check.imageId,
      error: took
        ? undefined
        : `SSM parameter ${check.parameter} points at ${value ?? 'nothing'}: the write of ${check.imageId} did not take`,
      runId: verify.runId,
      at,
    };
  });
  await ctx.ledger.record(updates);
  const mismatched = updates.filter((u) => u.status === 'failed').length;
  if (mismatched > 0) ctx.logger.warn('SSM parameters did not take', { region, mismatched });
  const published = summary.published - mismatched;
  const failed = summary.failed + mismatched;
  return { ...summary, published, failed, status: statusOf(published, failed) };
}

/** A region outcome as the workflow's failure branch reports it (only the region and the error). */
export interface FailedRegion {
  readonly region: string;
  readonly status: 'failed';
  readonly error: string;
}

/** One source published somewhere in this run: its name, and in how many of the run's regions it now is. */
export interface PublishedSource {
  readonly name: string;
  readonly regions: number;
  readonly of: number;
}

/** The run's summary, small whatever the number of images: what the digest and the end-of-run check read. */
export interface AnnounceSummary {
  readonly messages: number;
  /** Sources that got a region in this run. */
  readonly published: PublishedSource[];
  /** (source, region) pairs published in this run. */
  readonly pairsPublished: number;
  /** (source, region) pairs of this run that failed. */
  readonly failedPairs: number;
  readonly failedRegions: string[];
  /** Failed pairs grouped by region and error, and announcements SNS refused; at most 50 entries. */
  readonly failures: ItemFailure[];
  /** Everything that failed: pairs, refused announcements, pairs given up at discovery. */
  readonly failedCount: number;
}

function applyToRows(rows: LedgerRows, updates: readonly PairUpdate[]): void {
  for (const update of updates) {
    const regions = rows.get(update.source) ?? new Map<string, PairRecord>();
    const before = regions.get(update.region);
    regions.set(update.region, {
      source: update.source,
      region: update.region,
      status: update.status,
      sourceName: update.sourceName,
      imageId: update.imageId ?? before?.imageId,
      error: update.error,
      runId: update.runId,
      admittedAt: before?.admittedAt ?? update.at.toISOString(),
      updatedAt: update.at.toISOString(),
    });
    rows.set(update.source, regions);
  }
}

/**
 * Reads the run's pairs back from the ledger, records a region that failed outright against each of its open pairs,
 * announces every source that got a region in this run (with every region it is in, and where it is still missing),
 * and sums the run up. Reads nothing from the region Map but its summaries.
 */
export async function announceStep(
  ctx: PublishContext,
  input: {
    readonly runId: string;
    readonly regions: readonly string[];
    readonly images: readonly string[];
    readonly outcomes: readonly (RegionSummary | FailedRegion)[];
    readonly gaveUpCount?: number;
    readonly topicArn?: string;
  },
): Promise<AnnounceSummary & { readonly announcement?: AnnounceResult }> {
  const { runId } = input;
  const sources = await loadSources(ctx, input.images);
  const names = new Map(sources.map((s) => [s.imageId, s.name]));
  const rows = await ctx.ledger.rowsOf(input.images);
  const at = ctx.now();
  const crashed: PairUpdate[] = [];
  for (const outcome of input.outcomes) {
    if (outcome.status !== 'failed' || !outcome.error) continue;
    for (const source of input.images) {
      const row = rows.get(source)?.get(outcome.region);
      if (isSettled(row) || (row?.status === 'failed' && row.runId === runId)) continue;
      crashed.push({
        source,
        region: outcome.region,
        status: 'failed',
        sourceName: row?.sourceName || names.get(source) || '',
        error: short(outcome.error),
        runId,
        at,
      });
    }
  }
  await ctx.ledger.record(crashed);
  applyToRows(rows, crashed);

  const regionsOf = (source: string) => input.regions.map((region) => rows.get(source)?.get(region));
  const isNew = (row: PairRecord | undefined) => row?.status === 'published' && row.publishedRun === runId;
  const announced = sources.filter((s) => regionsOf(s.imageId).some(isNew));
  const publishedRegions: PublishedRegion[] = input.regions.map((region) => {
    const published: Record<string, string> = {};
    const missing: Record<string, string> = {};
    for (const source of announced) {
      const row = rows.get(source.imageId)?.get(region);
      if (row?.status === 'published' && row.imageId) published[source.imageId] = row.imageId;
      else missing[source.imageId] = row?.error ?? 'not published yet';
    }
    return { region, published, missing };
  });
  const announcement =
    input.topicArn && announced.length > 0
      ? await announce(ctx, announced, publishedRegions, input.topicArn)
      : undefined;

  const failedPairs: PairFailure[] = [];
  let pairsPublished = 0;
  for (const source of input.images) {
    for (const row of regionsOf(source)) {
      if (isNew(row)) pairsPublished++;
      if (row && row.runId === runId && row.status !== 'published') {
        failedPairs.push({
          name: row.sourceName || names.get(source) || source,
          region: row.region,
          error: row.error ?? row.status,
        });
      }
    }
  }
  const refused = announcement?.failed ?? [];
  const summary: AnnounceSummary = {
    messages: announcement?.messages ?? 0,
    published: announced.map((s) => ({
      name: s.name,
      regions: regionsOf(s.imageId).filter((r) => r?.status === 'published').length,
      of: input.regions.length,
    })),
    pairsPublished,
    failedPairs: failedPairs.length,
    failedRegions: input.outcomes.filter((o) => o.status !== 'published').map((o) => o.region),
    failures: [...groupFailures(failedPairs, MAX_LISTED), ...refused].slice(0, MAX_LISTED),
    failedCount: failedPairs.length + refused.length + (input.gaveUpCount ?? 0),
  };
  ctx.logger.info('publish announced', {
    messages: summary.messages,
    sources: summary.published.length,
    pairsPublished,
    failedPairs: failedPairs.length,
  });
  return { ...summary, announcement };
}

/** Options of the in-process publish steps (CLI dry run, tests). */
export interface RunPublishOptions {
  readonly config: PipelineConfig;
  readonly clients: ClientFactory;
  readonly now?: () => Date;
  readonly logger?: Logger;
  readonly limiter?: RateLimiter;
  readonly profile?: NamingProfile;
  /** Completion per (source, region); an empty one in memory when none is given. */
  readonly ledger?: PublishLedger;
  /** Plan these source images (published or not) instead of discovering new ones. */
  readonly imageIds?: readonly string[];
  /** Restrict the run to these regions (they must still be enabled and allowed). */
  readonly regions?: readonly string[];
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
    ledger: options.ledger ?? new MemoryLedger(),
  };
}

/** What a dry run found: the regions, the sources a run would take, each region's preflight, and the plan. */
export interface DryRun {
  readonly selection: RegionSelection;
  readonly discovery: {
    readonly sources: { readonly imageId: string; readonly name: string }[];
    readonly skipped: SkippedImage[];
    readonly deferred: number;
    readonly gaveUp: ItemFailure[];
  };
  readonly preflight: PreflightReport[];
  readonly plan: PublishPlan;
}

/**
 * The plan a run would execute, with each region's preflight, touching nothing (`--dry-run`): the same region
 * selection, the same discovery against the ledger, and per region only the pairs not yet published there.
 */
export async function planPublishRun(options: RunPublishOptions): Promise<DryRun> {
  const ctx = publishContext(options);
  const selection = await resolveRegions(ctx.clients, ctx.config, options.regions);
  const regions = selection.selected;
  const decided = await decideSources(ctx, { regions, imageIds: options.imageIds, runId: 'dry-run' });
  const ids = decided.sources.map((s) => s.imageId);
  const sourcesIn: Record<string, string[]> = {};
  for (const region of regions) {
    const known = decided.recheck ? new Map<string, PairRecord>() : await ctx.ledger.inRegion(region, ids);
    sourcesIn[region] = ids.filter((id) => !isSettled(known.get(id)));
  }
  const preflight = await mapLimit(regions, ctx.config.publish.regionConcurrency, (region) =>
    preflightRegion(ctx, region, { dryRun: true, incoming: sourcesIn[region]!.length }),
  );
  const inventories = await mapLimit(regions, ctx.config.publish.regionConcurrency, (region) =>
    readPublishInventory(
      ctx,
      region,
      decided.sources.filter((s) => sourcesIn[region]!.includes(s.imageId)),
      { ssm: true, attributes: true },
    ),
  );
  const plan = planPublish({
    sources: decided.sources,
    inventories,
    options: publishOptions(ctx.config),
    profile: ctx.profile,
    now: ctx.now(),
    sourcesIn,
    snapshotSharing: Object.fromEntries(
      preflight.flatMap((p) => (p.snapshotSharing ? [[p.region, p.snapshotSharing] as const] : [])),
    ),
  });
  return {
    selection,
    discovery: {
      sources: decided.sources.map((s) => ({ imageId: s.imageId, name: s.name })),
      skipped: decided.discovery.skipped,
      deferred: decided.plan.deferred.length,
      gaveUp: groupFailures(decided.plan.gaveUp, MAX_LISTED, 'GaveUp'),
    },
    preflight,
    plan,
  };
}
