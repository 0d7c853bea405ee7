import * as z from 'zod';

/** Running totals of one region across its batches; the cursor a batch hands to the next. */
export const batchTotalsSchema = z.object({
  imagesDeregistered: z.number().int().min(0),
  imagesSoftDeleted: z.number().int().min(0),
  snapshotsDeleted: z.number().int().min(0),
  gibReclaimed: z.number().min(0),
  snapshotsInUse: z.number().int().min(0),
  failureCount: z.number().int().min(0),
  /** The first failures, for the report; the count above is complete. */
  failures: z.array(z.object({ id: z.string(), region: z.string(), error: z.string(), code: z.string().optional() })),
});
export type BatchTotals = z.output<typeof batchTotalsSchema>;

/** One region's work item in the Map: where the run stands and what to continue with. */
export const regionBatchSchema = z.object({
  region: z.string().min(1),
  /** Cap boundary fixed when the run was planned; null when everything fit under the cap. */
  capBoundary: z.string().nullable(),
  overrideBreaker: z.boolean(),
  /** Whether the run asked to delete: the execute function refuses otherwise, whoever starts it. */
  execute: z.boolean(),
  batch: z.number().int().min(0),
  complete: z.boolean().default(false),
  totals: batchTotalsSchema,
});
export type RegionBatch = z.output<typeof regionBatchSchema>;

export const EMPTY_TOTALS: BatchTotals = {
  imagesDeregistered: 0,
  imagesSoftDeleted: 0,
  snapshotsDeleted: 0,
  gibReclaimed: 0,
  snapshotsInUse: 0,
  failureCount: 0,
  failures: [],
};

/** Failures kept in the state's payload; Step Functions payloads are capped at 256 KB. */
export const MAX_LISTED_FAILURES = 20;
