import * as iam from 'aws-cdk-lib/aws-iam';
import type { PipelineConfig } from '../lambdas/core/config';

/**
 * Denies `actions` in regions the configuration keeps the pipeline out of: those of `regions.deny`, and any region
 * outside `regions.allow` when an allow-list is set (always the build region too). The functions already skip such
 * regions; this holds when a bug or a bad input names one anyway. Nothing when every enabled region is allowed.
 */
export function regionGuard(config: PipelineConfig, sid: string, actions: readonly string[]): iam.PolicyStatement[] {
  const statements: iam.PolicyStatement[] = [];
  if (config.regions.deny.length > 0)
    statements.push(
      new iam.PolicyStatement({
        sid: `${sid}InDeniedRegions`,
        effect: iam.Effect.DENY,
        actions: [...actions],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:RequestedRegion': [...config.regions.deny] } },
      }),
    );
  if (config.regions.allow.length > 0)
    statements.push(
      new iam.PolicyStatement({
        sid: `${sid}OutsideAllowedRegions`,
        effect: iam.Effect.DENY,
        actions: [...actions],
        resources: ['*'],
        conditions: {
          StringNotEquals: { 'aws:RequestedRegion': [...new Set([config.buildRegion, ...config.regions.allow])] },
        },
      }),
    );
  return statements;
}
