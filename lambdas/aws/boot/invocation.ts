import { EC2Client } from '@aws-sdk/client-ec2';
import { configFromEnv } from '../../shared/env';
import { currentInvocation } from '../../shared/invocation';
import { invocationClients, invocationLimiter } from '../runtime';
import { CLEANUP_WAITS, type CleanupContext, type TestResourceScope } from './cleanup';

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
