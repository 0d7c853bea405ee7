import { EC2Client } from '@aws-sdk/client-ec2';
import { configFromEnv } from '../../shared/env';
import { currentInvocation } from '../../shared/invocation';
import { invocationClients, invocationLimiter } from '../runtime';
import type { CleanupContext, TestResourceScope } from './cleanup';

/** How long a cleanup waits for terminations and detaches, and how often it looks. */
export const CLEANUP_WAITS = { cycleTimeoutMs: 300_000, pollMs: 2000 } as const;

/**
 * What removing test resources needs, from the invocation: EC2 in the build region, its limiter and clock, the
 * managed tag, the cleanup's waits, and whose resources they are (the boot test's unless `scope` says otherwise).
 */
export function cleanupContextFromInvocation(scope?: TestResourceScope): CleanupContext {
  const config = configFromEnv();
  const region = config.buildRegion;
  return {
    ec2: invocationClients().client(EC2Client, region),
    limiter: invocationLimiter(),
    clock: currentInvocation().clock,
    region,
    managed: config.managedTag,
    waits: CLEANUP_WAITS,
    ...(scope && { scope }),
  };
}
