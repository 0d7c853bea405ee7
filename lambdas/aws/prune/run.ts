import type { PipelineConfig } from '../../core/config';
import { describeError, type ItemFailure } from '../../core/errors';
import {
  type AdoptPlan,
  planAdopt,
  planPrune,
  type PrunePlan,
  type PruneReport,
  prunePolicy,
  pruneReport,
  type RegionExecution,
  type PruneInventory,
} from '../../core/prune';
import { TAG } from '../../core/tags';
import { type Logger, silentLogger } from '../../shared/logger';
import type { ClientFactory } from '../clients';
import { type Clock, RateLimiter, realClock } from '../rate-limiter';
import { resolveRegions } from '../regions';
import { CreateTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { executeRegionPlan } from './execute';
import { readPruneInventory } from './inventory';
import { mapLimit } from '../../shared/concurrency';
import { DAY_MS } from '../../core/time';

/** Inputs of a prune run, in-process (CLI, demo, weekly cycle) or inside a Lambda batch. */
export interface PruneRunOptions {
  readonly config: PipelineConfig;
  readonly clients: ClientFactory;
  readonly now: Date;
  readonly logger?: Logger;
  /** Regions to work in; by default the enabled regions the configuration allows. */
  readonly regions?: readonly string[];
  /** Deletes for real; by default only when `safety.dryRun` is false. */
  readonly execute?: boolean;
  /** Lets regions exceed `safety.maxDeleteShare` (the first clean-up of a backlog). */
  readonly overrideBreaker?: boolean;
  /** Continues a run whose cap was fixed earlier (see `PrunePlan.capBoundary`). */
  readonly capBoundary?: string;
  /** Time budget of this invocation; work not started by then is left for the next batch. */
  readonly budgetMs?: number;
  readonly limiter?: RateLimiter;
  readonly clock?: Clock;
  readonly accountId?: string;
}

export interface PruneRunResult {
  readonly plan: PrunePlan;
  readonly report: PruneReport;
  readonly executions: readonly RegionExecution[];
  readonly executed: boolean;
  /** False when the time budget ended a region's work early; run again (same capBoundary) to continue. */
  readonly complete: boolean;
}

/**
 * The regions to work in: those named (the workflow's region lister already chose them, or an operator did), or the
 * enabled regions the configuration allows. A denied region is never touched, whoever names it.
 */
async function regionsOf(options: Pick<PruneRunOptions, 'regions' | 'config' | 'clients'>): Promise<readonly string[]> {
  const { config } = options;
  // Named regions, even none at all, are the whole run: an empty list never widens to every region.
  if (options.regions) return options.regions.filter((region) => !config.regions.deny.includes(region));
  return (await resolveRegions(options.clients, config)).selected;
}

async function inventories(options: PruneRunOptions, regions: readonly string[], logger: Logger) {
  const failedRegions: { region: string; error: string }[] = [];
  const read = await mapLimit(regions, options.config.safety.regionConcurrency, async (region) => {
    try {
      return await readPruneInventory(options.clients, region, {
        ssmPrefix: options.config.publish.ssmPrefix,
        limiter: options.limiter,
        accountId: options.accountId,
      });
    } catch (error) {
      const { message } = describeError(error);
      failedRegions.push({ region, error: message });
      logger.error('region inventory failed', { region, error: message });
      return undefined;
    }
  });
  return { inventory: read.filter((r): r is PruneInventory => r !== undefined), failedRegions };
}

/**
 * Inventories every region, plans (pure `planPrune`), and unless it is a dry run executes each region's plan, regions
 * in parallel up to `safety.regionConcurrency`. A region that fails is reported and the others complete.
 */
export async function runPrune(options: PruneRunOptions): Promise<PruneRunResult> {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? realClock;
  // AWS's buckets are shared by the account: without a limiter given, stay under them all the same.
  const limiter = options.limiter ?? new RateLimiter(undefined, clock);
  const execute = options.execute ?? !options.config.safety.dryRun;
  const regions = await regionsOf(options);
  const { inventory, failedRegions } = await inventories({ ...options, limiter }, regions, logger);
  const policy = prunePolicy(options.config, {
    overrideBreaker: options.overrideBreaker,
    capBoundary: options.capBoundary,
  });
  const plan = planPrune(inventory, policy, options.now);
  logger.info('prune planned', { regions: plan.regions.length, deferred: plan.deferred, execute });

  const executions: RegionExecution[] = [];
  if (execute) {
    const deadline = options.budgetMs !== undefined ? clock.now() + options.budgetMs : undefined;
    const deleteAfter = new Date(options.now.getTime() + options.config.retention.softDeleteGraceDays * DAY_MS)
      .toISOString()
      .slice(0, 10);
    await mapLimit(plan.regions, options.config.safety.regionConcurrency, async (regionPlan) => {
      try {
        executions.push(
          await executeRegionPlan(options.clients, regionPlan, {
            limiter,
            clock,
            deadline,
            deleteAfter,
            logger,
          }),
        );
      } catch (error) {
        failedRegions.push({ region: regionPlan.region, error: describeError(error).message });
      }
    });
  }
  const report = pruneReport(plan, executions, { dryRun: !execute, failedRegions });
  logger.info('prune finished', { ...report.totals, dryRun: !execute });
  return { plan, report, executions, executed: execute, complete: executions.every((e) => e.complete) };
}

export interface AdoptRunOptions {
  readonly config: PipelineConfig;
  readonly clients: ClientFactory;
  readonly now: Date;
  readonly logger?: Logger;
  readonly regions?: readonly string[];
  /** Tags for real; by default only when `safety.dryRun` is false. */
  readonly execute?: boolean;
  readonly limiter?: RateLimiter;
}

export interface AdoptRunResult {
  readonly plan: AdoptPlan;
  readonly executed: boolean;
  readonly tagged: readonly string[];
  readonly failed: readonly ItemFailure[];
  readonly failedRegions: readonly { region: string; error: string }[];
}

/** Tags pre-existing parseable images and their snapshots with the managed tag, so that prune may manage them. */
export async function runAdopt(options: AdoptRunOptions): Promise<AdoptRunResult> {
  const logger = options.logger ?? silentLogger;
  const limiter = options.limiter ?? new RateLimiter(undefined, realClock);
  const execute = options.execute ?? !options.config.safety.dryRun;
  const regions = await regionsOf(options);
  const { inventory, failedRegions } = await inventories({ ...options, limiter }, regions, logger);
  const plan = planAdopt(inventory, prunePolicy(options.config));
  const tagged: string[] = [];
  const failed: ItemFailure[] = [];
  if (execute) {
    const { key, value } = options.config.managedTag;
    await mapLimit(plan.regions, options.config.safety.regionConcurrency, async ({ region, entries }) => {
      const ec2 = options.clients.client(EC2Client, region);
      for (const entry of entries.filter((e) => e.action === 'tag')) {
        try {
          await limiter.run(region, 'CreateTags', () =>
            ec2.send(
              new CreateTagsCommand({
                Resources: [...entry.resources],
                Tags: [
                  { Key: key, Value: value },
                  { Key: TAG.adoptedAt, Value: options.now.toISOString() },
                ],
              }),
            ),
          );
          tagged.push(...entry.resources);
        } catch (error) {
          const { message, code } = describeError(error);
          failed.push({ id: entry.imageId, region, error: message, ...(code && { code }) });
        }
      }
    });
  }
  logger.info('adopt finished', { tagged: tagged.length, failed: failed.length, execute });
  return { plan, executed: execute, tagged, failed, failedRegions };
}
