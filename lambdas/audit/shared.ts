import * as z from 'zod';
import { FINDING_KINDS } from '../core/audit/model';
import { imageIds, regionProgressSchema, regionSchema, runIdSchema } from '../publish/shared';

export { handlerContext } from '../publish/shared';

const findingKind = z.enum(FINDING_KINDS);

/** A finding as the region steps carry it. */
export const reportedFindingSchema = z.object({
  kind: findingKind,
  region: regionSchema,
  series: z.string(),
  name: z.string(),
  sourceImageId: z.string(),
  imageIds: z.array(z.string()),
  reason: z.string(),
  outcome: z.enum(['repaired', 'failed', 'not-repairable', 'not-asked']),
  cause: z.string().optional(),
});

/** What one region's iteration starts with. */
export const auditRegionInputSchema = z.object({
  region: regionSchema,
  runId: runIdSchema,
  repair: z.boolean(),
  images: imageIds,
  pollSeconds: z.number().int().min(0),
});

/** The state one region's iteration carries from step to step. */
export const auditRegionStateSchema = auditRegionInputSchema.extend({
  pending: z.boolean(),
  waitSeconds: z.number().int().min(0),
  found: z.array(reportedFindingSchema),
  copy: regionProgressSchema.optional(),
});

/** A region's report, as Settle returns it. */
export const regionAuditReportSchema = z.object({
  region: regionSchema,
  status: z.enum(['clean', 'repaired', 'findings', 'failed']),
  found: z.number().int().min(0),
  repaired: z.number().int().min(0),
  unrepaired: z.number().int().min(0),
  byKind: z.partialRecord(findingKind, z.number().int().min(0)),
  findings: z.array(reportedFindingSchema),
  error: z.string().optional(),
});

/** A region's outcome as the Map collects it: a report, or the failure branch's region and error. */
export const auditOutcomeSchema = z.union([
  regionAuditReportSchema,
  z.object({ region: regionSchema, status: z.literal('failed'), error: z.string() }),
]);
