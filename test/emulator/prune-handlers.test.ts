import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ClientFactory } from '../../lambdas/aws/clients';
import { handler as adopt } from '../../lambdas/prune/adopt';
import { handler as executeBatch } from '../../lambdas/prune/execute';
import { handler as plan } from '../../lambdas/prune/plan';
import { EMPTY_TOTALS, type RegionBatch } from '../../lambdas/prune/schemas';
import { handler as summary } from '../../lambdas/prune/summary';
import { CONFIG_ENV } from '../../lambdas/shared/env';
import { RateLimiter, realClock } from '../../lambdas/aws/rate-limiter';
import { runInvocation } from '../../lambdas/shared/invocation';
import { seedFleet, weeklyFleet } from '../support/fleet';
import { DAY_MS } from '../../lambdas/core/time';

const newest = new Date(Date.now() - 2 * DAY_MS).toISOString().slice(0, 10);

describe('prune Lambda handlers, as the state machine chains them', () => {
  const clients = new ClientFactory({ maxAttempts: 1 });
  const saved = process.env[CONFIG_ENV];
  afterAll(() => {
    process.env[CONFIG_ENV] = saved;
  });

  beforeAll(async () => {
    process.env.LOG_LEVEL = 'error';
    process.env[CONFIG_ENV] = JSON.stringify({
      retention: { keepNewest: 2, minAgeDays: 0 },
      safety: { dryRun: false, maxDeleteShare: 1, maxDeletionsPerRun: 5 },
    });
    await seedFleet(
      clients,
      weeklyFleet({
        regions: ['eu-north-1', 'eu-west-3'],
        series: ['14.3-STABLE/amd64/base/ufs'],
        weeks: 6,
        newestBuildDate: newest,
      }),
    );
  });

  test('plan fixes the cap, batches run until each region is complete, and the summary adds them up', async () => {
    // Act: Plan -> Map(ExecuteBatch until complete) -> Summary
    const planned = await plan({ regions: ['eu-north-1', 'eu-west-3'], options: { regions: [] } });
    const results: RegionBatch[] = [];
    for (const item of planned.items) {
      let cursor: RegionBatch = item;
      while (!cursor.complete) cursor = await executeBatch(cursor, { getRemainingTimeInMillis: () => 300_000 });
      results.push(cursor);
    }
    const summed = await summary({ execute: planned.execute, results, failedRegions: planned.failedRegions });

    // Assess: 8 deletions are due, the cap lets the oldest 5 go in this run.
    expect(planned.execute).toBe(true);
    expect(planned.report.totals).toMatchObject({ imagesDeregistered: 5, remainingOverCap: 3 });
    expect(planned.items.every((i) => i.capBoundary === planned.items[0]!.capBoundary && i.capBoundary)).toBeTruthy();
    expect(summed).toMatchObject({ imagesDeregistered: 5, snapshotsDeleted: 5, gibReclaimed: 75, failedCount: 0 });
    const left = await Promise.all(
      ['eu-north-1', 'eu-west-3'].map(
        async (r) =>
          (await clients.client(EC2Client, r).send(new DescribeImagesCommand({ Owners: ['self'] }))).Images!.length,
      ),
    );
    expect(left[0]! + left[1]!).toBe(12 - 5);
  });

  test('the summary counts failed regions and items so the execution fails and the alarm fires', async () => {
    const summed = await summary({
      execute: true,
      results: [{ region: 'eu-west-3', error: 'States.TaskFailed' }],
      failedRegions: ['ap-south-1'],
    });

    expect(summed).toMatchObject({ failedRegions: ['ap-south-1', 'eu-west-3'], failedCount: 2 });
  });

  test('handlers reject malformed events before any work', async () => {
    await expect(executeBatch({ region: 'eu-west-3' })).rejects.toThrow(/prune-execute received an invalid event/);
    await expect(plan({ regions: [] })).rejects.toThrow(/prune-plan received an invalid event/);
  });

  test('adopt honours the execute flag of its event', async () => {
    const result = await adopt({ regions: ['eu-north-1'], execute: false });

    expect(result).toMatchObject({ executed: false, planned: 0, tagged: 0 });
  });
});

describe('a development line past its end of life, in the prune functions', () => {
  const clients = new ClientFactory({ maxAttempts: 1 });
  const region = 'eu-south-2';
  const config = {
    retention: { keepNewest: 4, minAgeDays: 90, lineEndOfLife: { '13-STABLE': '2020-01-01' } },
    safety: { dryRun: false, maxDeleteShare: 1 },
  };
  const asFunction = <T>(functionName: string, run: () => Promise<T>) =>
    runInvocation(
      {
        functionName,
        env: { [CONFIG_ENV]: JSON.stringify(config), LOG_LEVEL: 'error' },
        clock: realClock,
        remainingMs: () => 300_000,
        services: { clients, limiter: new RateLimiter() },
      },
      run,
    );

  test('plan deletes its aged builds, the summary names the line and what it held, execute deregisters them', async () => {
    // Prepare: the line's last three builds (120 to 134 days old) and a live line's three newest
    const old = new Date(Date.now() - 120 * DAY_MS).toISOString().slice(0, 10);
    await seedFleet(
      clients,
      weeklyFleet({ regions: [region], series: ['13.5-STABLE/amd64/base/ufs'], weeks: 3, newestBuildDate: old }),
    );
    await seedFleet(
      clients,
      weeklyFleet({ regions: [region], series: ['14.3-STABLE/amd64/base/ufs'], weeks: 3, newestBuildDate: old }),
    );

    // Act: Plan -> ExecuteBatch -> Summary, each as its function
    const planned = await asFunction('PrunePlanFunction', () => plan({ regions: [region], options: {} }));
    let cursor = planned.items[0]!;
    while (!cursor.complete) {
      const item = cursor;
      cursor = await asFunction('PruneExecuteFunction', () => executeBatch(item));
    }
    const summed = await asFunction('PruneSummaryFunction', () =>
      summary({
        execute: planned.execute,
        results: [cursor],
        failedRegions: planned.failedRegions,
        retiredLines: planned.report.retiredLines,
      }),
    );

    // Assess
    const retired = { line: '13-STABLE', endOfLife: '2020-01-01', images: 3, snapshots: 3, gib: 45, imagesDeleted: 3 };
    expect(planned.report.retiredLines).toEqual([{ ...retired, keptByReason: {} }]);
    expect(summed).toMatchObject({ imagesDeregistered: 3, failedCount: 0, retiredLines: [retired] });
    const left =
      (await clients.client(EC2Client, region).send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    expect(left.map((i) => i.Name).sort()).toEqual(expect.arrayContaining([expect.stringContaining('14.3-STABLE')]));
    expect(left.filter((i) => i.Name?.includes('13.5-STABLE'))).toEqual([]);
    expect(left).toHaveLength(3);
  });
});

describe('the prune execute function on its own', () => {
  const clients = new ClientFactory({ maxAttempts: 1 });
  const region = 'ca-central-1';
  const config = {
    retention: { keepNewest: 1, minAgeDays: 0 },
    safety: { dryRun: false, maxDeleteShare: 1 },
  };
  const images = async () =>
    (await clients.client(EC2Client, region).send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];

  /** Runs the execute handler as the stack's function, with a limiter that records every token taken. */
  function asFunction(event: unknown, taken: string[] = [], drained: string[] = []) {
    const limiter = new RateLimiter();
    const take = limiter.take.bind(limiter);
    limiter.take = (where: string, action: string) => {
      taken.push(action);
      return take(where, action);
    };
    // Recorded, not applied: an empty bucket would make this real-time test wait at the sustained rate.
    limiter.drain = (where: string, action: string) => {
      drained.push(`${where}:${action}`);
    };
    return runInvocation(
      {
        functionName: 'PruneExecuteFunction',
        env: { [CONFIG_ENV]: JSON.stringify(config), LOG_LEVEL: 'error' },
        clock: realClock,
        remainingMs: () => 300_000,
        services: { clients, limiter },
      },
      () => executeBatch(event),
    );
  }

  beforeEach(async () => {
    await seedFleet(
      clients,
      weeklyFleet({ regions: [region], series: ['13.5-STABLE/arm64/small/ufs'], weeks: 3, newestBuildDate: newest }),
    );
  });

  test('refuses to delete when the run did not ask to execute, whatever the configuration says', async () => {
    const before = (await images()).length;
    const item = { region, capBoundary: null, overrideBreaker: false, batch: 0, totals: EMPTY_TOTALS };

    await expect(asFunction({ ...item, execute: false })).rejects.toThrow(/did not ask to execute/);
    await expect(asFunction(item)).rejects.toThrow(/invalid event.*execute/);
    expect(await images()).toHaveLength(before);
  });

  test('takes a request token of AWS’s buckets for every deregistration and deletion', async () => {
    const taken: string[] = [];
    const item = { region, capBoundary: null, overrideBreaker: false, batch: 0, totals: EMPTY_TOTALS, execute: true };

    let cursor = (await asFunction(item, taken)) as RegionBatch;
    while (!cursor.complete) cursor = (await asFunction(cursor, taken)) as RegionBatch;

    expect(cursor.totals.imagesDeregistered).toBeGreaterThan(0);
    expect(taken.filter((a) => a === 'DeregisterImage')).toHaveLength(cursor.totals.imagesDeregistered);
    expect(taken).toEqual(expect.arrayContaining(['DescribeImages', 'DescribeSnapshots', 'DeleteSnapshot']));
  });

  test('a resumed batch starts its deleting buckets empty: the batch before it spent AWS’s', async () => {
    const item = { region, capBoundary: null, overrideBreaker: false, batch: 0, totals: EMPTY_TOTALS, execute: true };
    const first: string[] = [];
    const resumed: string[] = [];

    await asFunction(item, [], first);
    await asFunction({ ...item, batch: 1 }, [], resumed);

    expect(first).toEqual([]);
    expect(resumed.sort()).toEqual([`${region}:DeleteSnapshot`, `${region}:DeregisterImage`]);
  });
});
