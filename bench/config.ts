import type { PipelineConfigInput } from '../lambdas/core/config';

/**
 * The configuration every part of the bench deploys: the given regions, deletions for real, no cap on a run's
 * deletions and every region at once (a backlog's bound assumes them). Sharing one configuration, the parts of one
 * size share one synthesized template.
 */
export function benchConfig(regions: readonly string[]): PipelineConfigInput {
  return {
    regions: { allow: [...regions] },
    safety: { dryRun: false, maxDeleteShare: 1, maxDeletionsPerRun: 1_000_000, regionConcurrency: 40 },
  };
}
