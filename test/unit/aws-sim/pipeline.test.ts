import { runPrune } from '../../../lambdas/aws/prune';
import { EC2_THROTTLE_BUCKETS, RateLimiter } from '../../../lambdas/aws/rate-limiter';
import { defaultConfig } from '../../../lambdas/core/config';
import { DEFAULT_FLEET_SERIES } from '../../support/fleet';
import { simulated, START, virtually } from './helpers';

const REGIONS = ['us-east-1', 'eu-west-1'];

describe("the pipeline's adapters on the simulated AWS", () => {
  test('a prune reads, plans and deletes in virtual time, paced by its limiter below the buckets', async () => {
    const { sim, clients } = simulated();
    const config = defaultConfig();

    const { result, elapsed } = await virtually(async () => {
      sim.seed.fleet({ regions: REGIONS, series: DEFAULT_FLEET_SERIES, weeks: 20, newestBuildDate: '2026-03-01' });
      const started = sim.clock.now();
      const result = await runPrune({
        config,
        clients,
        now: START,
        regions: REGIONS,
        execute: true,
        limiter: new RateLimiter(EC2_THROTTLE_BUCKETS, sim.clock),
        clock: sim.clock,
      });
      return { result, elapsed: sim.clock.now() - started };
    });

    // Builds 90 days old or more on 2026-03-07 (weeks 12 to 19) go: 8 per series, 6 series, 2 regions.
    expect(result.executed).toBe(true);
    expect(result.executions.flatMap((e) => e.deregistered)).toHaveLength(96);
    expect(result.executions.flatMap((e) => e.snapshotsDeleted)).toHaveLength(96);
    expect(result.executions.flatMap((e) => e.failed)).toEqual([]);
    for (const region of REGIONS) expect(sim.inspect.images(region)).toHaveLength(6 * 12);
    expect(sim.counters.amount('snapshotsDeleted')).toBe(96);
    expect(sim.counters.throttled()).toBe(0);
    expect(sim.counters.unpaginated({ operation: 'DescribeImages' })).toEqual([]);
    // Every call answered with its latency: a run of some 200 calls takes seconds of virtual time, not none.
    expect(elapsed).toBeGreaterThan(1000);
  });
});
