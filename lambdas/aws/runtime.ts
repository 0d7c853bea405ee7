import { currentInvocation, invocationService } from '../shared/invocation';
import { ClientFactory } from './clients';
import { RateLimiter } from './rate-limiter';

/** The clients of the invocation in progress: one factory per warm Lambda container. */
export function invocationClients(): ClientFactory {
  return invocationService('clients', () => new ClientFactory());
}

/** The request-token limiter of the invocation in progress, below AWS's EC2 buckets. */
export function invocationLimiter(): RateLimiter {
  return invocationService('limiter', () => new RateLimiter(undefined, currentInvocation().clock));
}
