import { type Clock, EC2_THROTTLE_BUCKETS, RateLimiter, TokenBucket } from '../../lambdas/aws/rate-limiter';

/** A clock that only moves when the code under test sleeps. */
function virtualClock(): Clock & { elapsed: () => number } {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
    elapsed: () => now,
  };
}

describe('token bucket', () => {
  test('serves the burst at once, then the sustained rate', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket({ burst: 100, perSecond: 5 }, clock);

    for (let i = 0; i < 100; i++) await bucket.take();
    const afterBurst = clock.elapsed();
    for (let i = 0; i < 50; i++) await bucket.take();

    expect(afterBurst).toBe(0);
    expect(clock.elapsed()).toBeGreaterThanOrEqual(10_000);
    expect(clock.elapsed()).toBeLessThan(10_300);
  });

  test('drained, serves at the sustained rate from the first call: no burst left to spend', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket({ burst: 100, perSecond: 5 }, clock);

    bucket.drain();
    for (let i = 0; i < 10; i++) await bucket.take();

    expect(clock.elapsed()).toBeGreaterThanOrEqual(2000);
    expect(clock.elapsed()).toBeLessThan(2300);
  });

  test('keeps concurrent callers under the rate', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket({ burst: 5, perSecond: 2 }, clock);

    await Promise.all(Array.from({ length: 25 }, () => bucket.take()));

    expect(clock.elapsed()).toBeGreaterThanOrEqual(10_000);
  });
});

describe('rate limiter', () => {
  test('gives each region and action its own bucket with AWS limits', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter(EC2_THROTTLE_BUCKETS, clock);

    for (let i = 0; i < 5; i++) await limiter.take('us-east-1', 'RunInstances');
    for (let i = 0; i < 5; i++) await limiter.take('eu-west-1', 'RunInstances');
    for (let i = 0; i < 100; i++) await limiter.take('us-east-1', 'DescribeImages');
    const beforeSixthLaunch = clock.elapsed();
    await limiter.take('us-east-1', 'RunInstances');

    expect(beforeSixthLaunch).toBe(0);
    expect(clock.elapsed()).toBe(500);
  });

  test('drains only the bucket of the region and action named', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter(EC2_THROTTLE_BUCKETS, clock);

    limiter.drain('us-east-1', 'DeregisterImage');
    for (let i = 0; i < 100; i++) await limiter.take('eu-west-1', 'DeregisterImage');
    for (let i = 0; i < 100; i++) await limiter.take('us-east-1', 'DeleteSnapshot');
    const othersServed = clock.elapsed();
    await limiter.take('us-east-1', 'DeregisterImage');

    expect(othersServed).toBe(0);
    expect(clock.elapsed()).toBe(200);
  });

  test('runs the call once a token is available and returns its result', async () => {
    const limiter = new RateLimiter(EC2_THROTTLE_BUCKETS, virtualClock());

    await expect(limiter.run('us-east-1', 'CopyImage', async () => 'ami-1')).resolves.toBe('ami-1');
  });
});
