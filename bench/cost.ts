import { type BenchRow, row } from './table';
import { benchWeek } from './week';

/**
 * What AWS charges for what a weekly cycle uses: US East (N. Virginia), on-demand list prices as published in
 * June 2025, no free tier and no Savings Plans. Each item names the page its price is from.
 */
export const PRICES = {
  // https://aws.amazon.com/lambda/pricing/ (Arm, first tier of duration)
  lambdaArmGbSecond: 0.000_013_333_4,
  // https://aws.amazon.com/lambda/pricing/ (requests, either architecture)
  lambdaRequest: 0.2 / 1_000_000,
  // https://aws.amazon.com/step-functions/pricing/ (Standard workflows)
  stepFunctionsTransition: 0.025 / 1_000,
  // https://aws.amazon.com/ec2/pricing/on-demand/ (Linux, per hour, billed per second with a 60-second minimum)
  ec2Hour: {
    'c6g.large': 0.068,
    'c7g.large': 0.0725,
    'c8g.large': 0.079_76,
    'c5.large': 0.085,
    'c7i.large': 0.089_25,
    'm7a.large': 0.115_92,
  } as Readonly<Record<string, number>>,
  // https://aws.amazon.com/ebs/pricing/ (snapshots, Standard tier, per GB-month of data stored)
  snapshotGbMonth: 0.05,
  // https://aws.amazon.com/dynamodb/pricing/on-demand/ (write and read request units)
  dynamodbWrite: 0.625 / 1_000_000,
  dynamodbRead: 0.125 / 1_000_000,
} as const;

/** What a cycle may cost: the weekly run is worth running only if it stays small change. */
const CYCLE_BUDGET_USD = 3;
const GB = 1e9;

/**
 * Cost of one weekly cycle (publish, boot test, prune, digest) priced from what the simulated account counted:
 * Lambda GB-seconds and requests from the engine, Step Functions transitions from the executions, EC2
 * instance-seconds per type from the simulation, DynamoDB requests; and the snapshot storage the prune gives back.
 */
export async function benchCost(size: 'small' | 'full'): Promise<BenchRow[]> {
  const week = await benchWeek(size);
  const group = `cost of a weekly cycle (${week.size.series.length} images x ${week.regions.length} regions)`;
  const transitions = week.executions.reduce((n, e) => n + e.transitions, 0);
  const instanceSeconds = week.instanceSecondsBilled;
  const missingPrice = Object.keys(instanceSeconds).filter((type) => PRICES.ec2Hour[type] === undefined);
  if (missingPrice.length > 0) throw new Error(`no price for instance types ${missingPrice.join(', ')}`);
  const items = [
    {
      measure: 'Lambda',
      usd: week.lambda.gbSeconds * PRICES.lambdaArmGbSecond + week.lambda.invocations * PRICES.lambdaRequest,
      note: `${week.lambda.gbSeconds.toFixed(0)} GB-s, ${week.lambda.invocations} requests`,
    },
    {
      measure: 'Step Functions',
      usd: transitions * PRICES.stepFunctionsTransition,
      note: `${transitions} state transitions`,
    },
    {
      measure: 'EC2 boot tests',
      usd: Object.entries(instanceSeconds).reduce(
        (sum, [type, seconds]) => sum + (seconds / 3600) * PRICES.ec2Hour[type]!,
        0,
      ),
      note: Object.entries(instanceSeconds)
        .map(([type, seconds]) => `${type} ${seconds.toFixed(0)} s`)
        .join(', '),
    },
    {
      measure: 'DynamoDB',
      usd: week.dynamodb.writes * PRICES.dynamodbWrite + week.dynamodb.reads * PRICES.dynamodbRead,
      note: `${week.dynamodb.writes} writes, ${week.dynamodb.reads} reads`,
    },
  ];
  const total = items.reduce((sum, item) => sum + item.usd, 0);
  const reclaimedGb = week.pruneDeleted.bytes / GB;
  const savedPerMonth = reclaimedGb * PRICES.snapshotGbMonth;
  return [
    ...items.map((item) =>
      row({
        group,
        measure: item.measure,
        reference: CYCLE_BUDGET_USD,
        referenceLabel: 'share of the budget',
        result: item.usd,
        unit: 'USD',
        note: item.note,
      }),
    ),
    row({
      group,
      measure: 'total per cycle',
      reference: CYCLE_BUDGET_USD,
      referenceLabel: 'budget',
      result: total,
      unit: 'USD',
      maxRatio: 1,
    }),
    row({
      group,
      measure: 'snapshot storage saved per month',
      reference: total,
      referenceLabel: 'the cycle’s cost',
      result: savedPerMonth,
      unit: 'USD',
      note: `${reclaimedGb.toFixed(0)} GB of ${week.pruneDeleted.snapshots} snapshots deleted (${week.pruneDeleted.images} images)`,
    }),
  ];
}
