import * as z from 'zod';
import { parseEvent } from '../shared/event';
import { Logger } from '../shared/logger';
import { regionBatchSchema } from './schemas';

const eventSchema = z.object({
  execute: z.boolean(),
  /** Per region: the last batch's cursor, or `{ region, error }` when the region failed. */
  results: z.array(z.union([regionBatchSchema, z.object({ region: z.string(), error: z.unknown() })])).default([]),
  /** Regions whose inventory failed while planning. */
  failedRegions: z.array(z.string()).default([]),
  /** The plan's development lines past their end of life, with what they held; carried into the run's output. */
  retiredLines: z
    .array(
      z.object({
        line: z.string(),
        endOfLife: z.string(),
        images: z.number(),
        snapshots: z.number(),
        gib: z.number(),
        imagesDeleted: z.number(),
        keptByReason: z.record(z.string(), z.number()),
      }),
    )
    .default([]),
});

const logger = new Logger({ service: 'prune-summary' });

/** Adds up the regions' results; the state machine fails the execution when anything failed, so the alarm fires. */
export async function handler(event: unknown) {
  const input = parseEvent(eventSchema, event, 'prune-summary');
  const done = input.results.filter((r) => 'totals' in r);
  const failedRegions = [...input.failedRegions, ...input.results.filter((r) => !('totals' in r)).map((r) => r.region)];
  const sum = (key: 'imagesDeregistered' | 'snapshotsDeleted' | 'gibReclaimed' | 'failureCount') =>
    done.reduce((total, r) => total + ('totals' in r ? r.totals[key] : 0), 0);
  const summary = {
    execute: input.execute,
    imagesDeregistered: sum('imagesDeregistered'),
    snapshotsDeleted: sum('snapshotsDeleted'),
    gibReclaimed: sum('gibReclaimed'),
    failedRegions,
    failedCount: sum('failureCount') + failedRegions.length,
    retiredLines: input.retiredLines,
  };
  logger.info('prune summary', summary);
  return summary;
}
