import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { ClientFactory } from '../../lambdas/aws/clients';
import { handler as adopt } from '../../lambdas/prune/adopt';
import { handler as executeBatch } from '../../lambdas/prune/execute';
import { handler as plan } from '../../lambdas/prune/plan';
import type { RegionBatch } from '../../lambdas/prune/schemas';
import { handler as summary } from '../../lambdas/prune/summary';
import { CONFIG_ENV } from '../../lambdas/shared/env';
import { seedFleet, weeklyFleet } from '../../scripts/fleet';

const DAY = 86_400_000;
const newest = new Date(Date.now() - 2 * DAY).toISOString().slice(0, 10);

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
        async (r) => (await clients.ec2(r).send(new DescribeImagesCommand({ Owners: ['self'] }))).Images!.length,
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
