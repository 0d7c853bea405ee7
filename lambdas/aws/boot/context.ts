import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Clock, RateLimiter } from '../rate-limiter';

/** What the boot adapters act through in one region: its EC2 client, the rate limiter and the clock. */
export interface BootEc2Context {
  readonly ec2: EC2Client;
  readonly limiter: RateLimiter;
  readonly clock: Clock;
  readonly region: string;
}

/** The part of {@link BootEc2Context} that calls which never wait need. */
export type BootEc2Calls = Omit<BootEc2Context, 'clock'>;
