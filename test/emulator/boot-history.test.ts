import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoBootHistory, emitBootMetrics } from '../../lambdas/aws/boot/history';
import { ClientFactory } from '../../lambdas/aws/clients';
import type { BootHistoryRow } from '../../lambdas/core/boot/result';
import { createBootHistoryTable } from '../support/boot-history-table';

const clients = new ClientFactory({ maxAttempts: 1 });
const dynamodb = clients.client(DynamoDBClient, 'us-east-1');
const TABLE = 'boot-history';

function row(
  buildDate: string,
  bootSeconds: number,
  instanceType = 'c7g.large',
  imageId = `ami-${buildDate}`,
): BootHistoryRow {
  return {
    seriesKey: '15.0-CURRENT/arm64/base/zfs',
    instanceType,
    buildDate,
    imageId,
    imageName: `FreeBSD 15.0-CURRENT-arm64-${buildDate.replaceAll('-', '')} base ZFS`,
    region: 'us-east-1',
    revision: 'main@e4f5a6b',
    network: 'isolated',
    status: 'passed',
    reason: 'single run',
    runs: 1,
    median: { runInstancesSeconds: 1.5, pendingToRunningSeconds: 4.9, bootSeconds },
    testedAt: `${buildDate}T08:00:00.000Z`,
    runId: 'weekly',
  };
}

beforeAll(async () => {
  await createBootHistoryTable(dynamodb, TABLE);
});

describe('boot history in DynamoDB', () => {
  test('keeps one row per (series, instance type, build date) and reads back a date window', async () => {
    const history = new DynamoBootHistory(dynamodb, TABLE);
    for (const [date, seconds] of [
      ['2026-10-29', 8.1],
      ['2026-11-05', 8.3],
      ['2026-11-12', 8.0],
      ['2026-11-19', 8.2],
    ] as const)
      await history.put(row(date, seconds));
    await history.put(row('2026-11-19', 7.9));
    await history.put(row('2026-11-19', 30, 'c8g.large'));

    const window = await history.query('15.0-CURRENT/arm64/base/zfs', 'c7g.large', '2026-11-05', '2026-11-19');
    const all = await history.list();

    expect(window.map((r) => [r.buildDate, r.median.bootSeconds])).toEqual([
      ['2026-11-05', 8.3],
      ['2026-11-12', 8.0],
    ]);
    expect(all).toHaveLength(5);
    expect(all.find((r) => r.buildDate === '2026-11-19' && r.instanceType === 'c7g.large')!.median.bootSeconds).toBe(
      7.9,
    );
    expect(all[0]).toEqual(row('2026-10-29', 8.1));
  });

  test('writes one embedded-metric-format line per row with the series and instance type as dimensions', () => {
    const lines: string[] = [];

    emitBootMetrics([row('2026-11-26', 22.9)], (line) => lines.push(line), 1_795_000_000_000);

    const record = JSON.parse(lines[0]!);
    expect(record._aws).toEqual({
      Timestamp: 1_795_000_000_000,
      CloudWatchMetrics: [
        {
          Namespace: 'AmiPipeline/BootTest',
          Dimensions: [['Series', 'InstanceType'], []],
          Metrics: expect.arrayContaining([
            { Name: 'BootSeconds', Unit: 'Seconds' },
            { Name: 'BootFailed', Unit: 'Count' },
          ]),
        },
      ],
    });
    expect(record).toMatchObject({
      Series: '15.0-CURRENT/arm64/base/zfs',
      InstanceType: 'c7g.large',
      BootSeconds: 22.9,
      PendingToRunningSeconds: 4.9,
      BootFailed: 0,
      Network: 'isolated',
      BuildDate: '2026-11-26',
      Status: 'passed',
    });
    expect(record.ImageId).toBe('ami-2026-11-26');
    expect(record).not.toHaveProperty('service');
  });
});
