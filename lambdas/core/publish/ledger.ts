import type { ItemFailure } from '../errors';
import { DAY_MS } from '../time';

/**
 * Where one (source image, region) pair stands in the publish ledger: `queued` once discovery takes the source on,
 * `verifying` while its SSM write awaits read-back, `published` when every configured change is in place, `failed`
 * with the last error (retried next run), `gave-up` once the source is older than the give-up age (reported once,
 * never retried by a scheduled run).
 */
export type PairStatus = 'queued' | 'verifying' | 'published' | 'failed' | 'gave-up';

/** One row of the ledger. */
export interface PairRecord {
  readonly source: string;
  readonly region: string;
  readonly status: PairStatus;
  readonly sourceName: string;
  /** The image in this region, once there is one. */
  readonly imageId?: string;
  readonly error?: string;
  /** The run (execution name) that last changed the row. */
  readonly runId?: string;
  /** The run that published the pair; kept while it stays published. */
  readonly publishedRun?: string;
  /** When the pair was first taken on (ISO). */
  readonly admittedAt: string;
  readonly updatedAt: string;
}

/** Whether a pair needs no more work from a scheduled run. */
export function isSettled(record: PairRecord | undefined): boolean {
  return record?.status === 'published' || record?.status === 'gave-up';
}

/** A source image of the build region as discovery weighs it. */
export interface DiscoveryCandidate {
  readonly imageId: string;
  readonly name: string;
  /** Registration time (ISO); the newest are taken first and the age decides when to give up. */
  readonly createdAt: string;
  /** The `published-at` tag of the first pipeline release, which marked a source complete everywhere. */
  readonly legacyPublishedAt?: string;
}

/** What bounds one run's discovery. */
export interface DiscoveryPolicy {
  readonly regions: readonly string[];
  readonly now: Date;
  readonly giveUpAfterDays: number;
  readonly maxSourcesPerRun: number;
  readonly runId: string;
}

/** A pair given up at this run: reported once, then left alone. */
export interface GivenUpPair {
  readonly source: string;
  readonly name: string;
  readonly region: string;
  readonly error: string;
}

/** Discovery's decision: what this run publishes and what it records in the ledger first. */
export interface DiscoveryPlan {
  /** Sources taken into this run, newest first. */
  readonly take: string[];
  /** Sources taken for the first time (new builds), which the boot test gets. */
  readonly fresh: string[];
  /** Sources with missing pairs left for a later run by the per-run cap, newest first. */
  readonly deferred: string[];
  /** Sources complete in every region (or marked so by the first release). */
  readonly complete: number;
  /** Sources past the give-up age that the ledger never took on; left alone. */
  readonly untracked: number;
  /** Rows to write before the run: `queued` for pairs not yet in the ledger, `gave-up` for pairs given up now. */
  readonly writes: PairRecord[];
  readonly gaveUp: GivenUpPair[];
}

function newestFirst(a: DiscoveryCandidate, b: DiscoveryCandidate): number {
  return b.createdAt.localeCompare(a.createdAt) || b.name.localeCompare(a.name);
}

/**
 * Decides what a scheduled run publishes from the ledger's rows (by source, then region): only pairs not yet
 * published, sources newest first, at most `maxSourcesPerRun` of them; a source older than `giveUpAfterDays` has its
 * open pairs given up (reported once) instead of retried forever. Every pair of a source younger than that gets a row,
 * deferred sources included, so whatever the run does not finish is either retried or reported. Pure.
 */
export function planDiscovery(
  candidates: readonly DiscoveryCandidate[],
  rows: ReadonlyMap<string, ReadonlyMap<string, PairRecord>>,
  policy: DiscoveryPolicy,
): DiscoveryPlan {
  const now = policy.now.toISOString();
  const oldest = policy.now.getTime() - policy.giveUpAfterDays * DAY_MS;
  const take: string[] = [];
  const fresh: string[] = [];
  const deferred: string[] = [];
  const writes: PairRecord[] = [];
  const gaveUp: GivenUpPair[] = [];
  let complete = 0;
  let untracked = 0;
  for (const candidate of [...candidates].sort(newestFirst)) {
    if (candidate.legacyPublishedAt) {
      complete++;
      continue;
    }
    const known = rows.get(candidate.imageId) ?? new Map<string, PairRecord>();
    const open = policy.regions.filter((region) => !isSettled(known.get(region)));
    if (open.length === 0) {
      complete++;
      continue;
    }
    if (Date.parse(candidate.createdAt) < oldest) {
      if (known.size === 0) {
        untracked++;
        continue;
      }
      for (const region of open) {
        const last = known.get(region);
        const error = `not published within ${policy.giveUpAfterDays} days${last?.error ? `; last error: ${last.error}` : ''}`;
        gaveUp.push({ source: candidate.imageId, name: candidate.name, region, error });
        writes.push({
          source: candidate.imageId,
          region,
          status: 'gave-up',
          sourceName: candidate.name,
          imageId: last?.imageId,
          error,
          runId: policy.runId,
          admittedAt: last?.admittedAt ?? now,
          updatedAt: now,
        });
      }
      continue;
    }
    for (const region of open) {
      if (known.has(region)) continue;
      writes.push({
        source: candidate.imageId,
        region,
        status: 'queued',
        sourceName: candidate.name,
        runId: policy.runId,
        admittedAt: now,
        updatedAt: now,
      });
    }
    if (take.length < policy.maxSourcesPerRun) {
      take.push(candidate.imageId);
      if (known.size === 0) fresh.push(candidate.imageId);
    } else deferred.push(candidate.imageId);
  }
  return { take, fresh, deferred, complete, untracked, writes, gaveUp };
}

/** Rows to write before a run that names its sources: `queued` for pairs not yet in the ledger. */
export function admitNamed(
  sources: readonly { readonly imageId: string; readonly name: string }[],
  rows: ReadonlyMap<string, ReadonlyMap<string, PairRecord>>,
  regions: readonly string[],
  runId: string,
  now: Date,
): PairRecord[] {
  const at = now.toISOString();
  return sources.flatMap((source) =>
    regions
      .filter((region) => !rows.get(source.imageId)?.has(region))
      .map(
        (region): PairRecord => ({
          source: source.imageId,
          region,
          status: 'queued',
          sourceName: source.name,
          runId,
          admittedAt: at,
          updatedAt: at,
        }),
      ),
  );
}

/** One pair that did not make it, for reports. */
export interface PairFailure {
  readonly name: string;
  readonly region: string;
  readonly error: string;
}

/** Pairs named one by one in a group before the group is summed up. */
const NAMED_PER_GROUP = 3;

/**
 * Failures grouped by region and error, so a region that refused a whole week says so in one line: a group of a few
 * names each image, a larger one counts them and names the first. At most `limit` entries.
 */
export function groupFailures(failures: readonly PairFailure[], limit: number, code?: string): ItemFailure[] {
  const groups = new Map<string, PairFailure[]>();
  for (const failure of failures) {
    const key = `${failure.region}\u0000${failure.error}`;
    groups.set(key, [...(groups.get(key) ?? []), failure]);
  }
  const entries: ItemFailure[] = [];
  for (const key of [...groups.keys()].sort()) {
    const group = groups.get(key)!.sort((a, b) => a.name.localeCompare(b.name));
    const { region, error } = group[0]!;
    const base = code ? { region, error, code } : { region, error };
    if (group.length <= NAMED_PER_GROUP) entries.push(...group.map((f) => ({ id: f.name, ...base })));
    else entries.push({ id: `${group.length} images (${group[0]!.name} and others)`, ...base });
  }
  return entries.slice(0, limit);
}
