import { EC2Client } from '@aws-sdk/client-ec2';
import type { BootEc2Context } from '../aws/boot/context';
import { invocationClients, invocationLimiter } from '../aws/runtime';
import type { ManagedTag } from '../core/tags';
import { configFromEnv } from '../shared/env';
import { currentInvocation } from '../shared/invocation';

/** What ending a check's resources needs, from the invocation: EC2 in the build region, its limiter, clock and tag. */
export function reproCleanupContext(): BootEc2Context & { readonly managed: ManagedTag } {
  const config = configFromEnv();
  const region = config.buildRegion;
  return {
    ec2: invocationClients().client(EC2Client, region),
    limiter: invocationLimiter(),
    clock: currentInvocation().clock,
    region,
    managed: config.managedTag,
  };
}
