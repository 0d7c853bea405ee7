import * as z from 'zod';
import { runPrune } from '../aws/prune';
import { invocationClients } from '../aws/runtime';
import { parseEvent } from '../shared/event';
import { configFromEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';
import { Logger } from '../shared/logger';
import { EMPTY_TOTALS, type RegionBatch } from './schemas';

const eventSchema = z.object({
  regions: z.array(z.string()).min(1),
  /** The execution's start input; a scheduled start passes none of these. */
  options: z
    .object({
      /** Execute even if configuration says dry run (a manual start); absent: `!safety.dryRun`. */
      execute: z.boolean().optional(),
      /** Lets regions exceed `safety.maxDeleteShare` (the first clean-up of a backlog). */
      overrideBreaker: z.boolean().optional(),
    })
    .default({}),
});

const logger = new Logger({ service: 'prune-plan' });

/** Plans the run over every region and fixes its deletion cap; the Map then executes region by region. */
export async function handler(event: unknown) {
  const clients = invocationClients();
  const clock = currentInvocation().clock;
  const input = parseEvent(eventSchema, event, 'prune-plan');
  const config = configFromEnv();
  const execute = input.options.execute ?? !config.safety.dryRun;
  const overrideBreaker = input.options.overrideBreaker ?? false;
  const { plan, report } = await runPrune({
    config,
    clients,
    now: new Date(clock.now()),
    logger,
    regions: input.regions,
    execute: false,
    overrideBreaker,
  });
  logger.info('prune plan', { execute, ...report.totals, capBoundary: plan.capBoundary });
  const items: RegionBatch[] = report.regions
    .filter((r) => r.error === undefined)
    .map((r) => ({
      region: r.region,
      capBoundary: plan.capBoundary ?? null,
      overrideBreaker,
      execute,
      batch: 0,
      complete: false,
      totals: EMPTY_TOTALS,
    }));
  const failedRegions = report.regions.filter((r) => r.error !== undefined).map((r) => r.region);
  return { execute, items, failedRegions, report };
}
