import { UpdateItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoLedger, LEDGER_KEYS } from '../../../lambdas/aws/publish/ledger';
import type { PairRecord } from '../../../lambdas/core/publish';
import { rejection, simulated, START, virtually } from './helpers';

const TABLE = 'publish-ledger';
const REGION = 'us-east-1';

function queued(n: number, region: string): PairRecord {
  return {
    source: `ami-${String(n).padStart(17, '0')}`,
    region,
    status: 'queued',
    sourceName: `FreeBSD image ${n}`,
    runId: 'run-1',
    admittedAt: START.toISOString(),
    updatedAt: START.toISOString(),
  };
}

describe('the publish ledger on the simulated DynamoDB', () => {
  test('writes rows in batches of 25 and reads them back by source and by region in batches of 100', async () => {
    const { sim, clients } = simulated();
    sim.seed.table(REGION, TABLE, { partition: LEDGER_KEYS.partition, sort: LEDGER_KEYS.sort });
    const ledger = new DynamoLedger(clients.client(DynamoDBClient, REGION), TABLE);
    const rows = Array.from({ length: 130 }, (_, i) => queued(i, i % 2 ? 'eu-west-1' : 'ap-south-1'));

    const { bySource, inEurope } = await virtually(async () => {
      await ledger.put(rows);
      const bySource = await ledger.rowsOf([rows[0]!.source, rows[1]!.source]);
      const inEurope = await ledger.inRegion(
        'eu-west-1',
        rows.map((r) => r.source),
      );
      return { bySource, inEurope };
    });

    expect(sim.inspect.items(REGION, TABLE)).toHaveLength(130);
    expect(sim.counters.calls({ operation: 'BatchWriteItem' })).toBe(6);
    expect(sim.counters.calls({ operation: 'BatchGetItem' })).toBe(2);
    expect(bySource.get(rows[1]!.source)?.get('eu-west-1')).toEqual(rows[1]);
    expect(inEurope.size).toBe(65);
  });

  test('keeps when a pair was taken on and which run published it, and forgets that run once the pair fails', async () => {
    const { sim, clients } = simulated();
    sim.seed.table(REGION, TABLE, { partition: LEDGER_KEYS.partition, sort: LEDGER_KEYS.sort });
    const ledger = new DynamoLedger(clients.client(DynamoDBClient, REGION), TABLE);
    const pair = queued(1, 'eu-west-1');
    const at = (minutes: number) => new Date(START.getTime() + minutes * 60_000);
    const update = (status: 'published' | 'failed', runId: string, minutes: number, error?: string) =>
      ledger.record([{ ...pair, status, runId, at: at(minutes), imageId: 'ami-0000000000000c0p1', error }]);

    const [published, republished, failed] = await virtually(async () => {
      await ledger.put([pair]);
      await update('published', 'run-2', 10);
      const published = (await ledger.inRegion('eu-west-1', [pair.source])).get(pair.source);
      await update('published', 'run-3', 20);
      const republished = (await ledger.inRegion('eu-west-1', [pair.source])).get(pair.source);
      await update('failed', 'run-4', 30, 'UnauthorizedOperation');
      return [published, republished, (await ledger.inRegion('eu-west-1', [pair.source])).get(pair.source)];
    });

    expect(published).toMatchObject({ status: 'published', publishedRun: 'run-2', admittedAt: pair.admittedAt });
    expect(published?.error).toBeUndefined();
    expect(republished).toMatchObject({ publishedRun: 'run-2', runId: 'run-3', updatedAt: at(20).toISOString() });
    expect(failed).toMatchObject({ status: 'failed', error: 'UnauthorizedOperation', admittedAt: pair.admittedAt });
    expect(failed?.publishedRun).toBeUndefined();
  });

  test('an update expression beyond SET and REMOVE is a gap of the simulation, not an AWS answer', async () => {
    const { sim, clients } = simulated();
    sim.seed.table(REGION, TABLE, { partition: LEDGER_KEYS.partition, sort: LEDGER_KEYS.sort });

    const error = await virtually(() =>
      rejection(
        clients.client(DynamoDBClient, REGION).send(
          new UpdateItemCommand({
            TableName: TABLE,
            Key: { source: { S: 'ami-1' }, region: { S: REGION } },
            UpdateExpression: 'ADD attempts :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          }),
        ),
      ),
    );

    expect(error.name).toBe('SimulationGapError');
  });
});
