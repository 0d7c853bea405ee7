import type { ReproCheck } from './plan';

/**
 * On-demand prices (USD, Linux, us-east-1) of the instance types the checks use by default and of gp3 storage, from
 * AWS's "Amazon EC2 On-Demand Pricing" and "Amazon EBS pricing" pages as listed in 2025. Prices differ per region and
 * change: an estimate, never a bill. A type missing here is estimated at the most expensive listed rate.
 */
export const PRICE_TABLE = {
  source: 'https://aws.amazon.com/ec2/pricing/on-demand/ and https://aws.amazon.com/ebs/pricing/',
  region: 'us-east-1',
  asOf: '2025',
  hourly: {
    'c7g.4xlarge': 0.58,
    'c7g.8xlarge': 1.16,
    'c8g.4xlarge': 0.638,
    'c7i.4xlarge': 0.714,
    'c7i.8xlarge': 1.428,
    'c7a.4xlarge': 0.821,
  } as Readonly<Record<string, number>>,
  gp3PerGiBMonth: 0.08,
} as const;

const HOURS_PER_MONTH = 730;

/** What a plan's checks may cost at most: every instance running its whole budget and grace. */
export interface CostEstimate {
  readonly instanceHours: number;
  readonly estimatedUsd: number;
  /** One line per check: type, hours, dollars. */
  readonly lines: readonly string[];
  readonly priceSource: string;
}

/** The plan's instance-hours and their price, each check at its whole time budget (the cap the workflow enforces). */
export function estimateCost(checks: readonly ReproCheck[], region: string, scratchVolumeGiB: number): CostEstimate {
  const worst = Math.max(...Object.values(PRICE_TABLE.hourly));
  let usd = 0;
  let hours = 0;
  const lines: string[] = [];
  for (const check of checks) {
    const rate = PRICE_TABLE.hourly[check.instanceType] ?? worst;
    const gib = scratchVolumeGiB + 2 * check.rootVolumeGiB;
    const storage = (gib * PRICE_TABLE.gp3PerGiBMonth * check.instanceHours) / HOURS_PER_MONTH;
    const cost = rate * check.instanceHours + storage;
    usd += cost;
    hours += check.instanceHours;
    lines.push(
      `${check.imageId} on ${check.instanceType}: ${round(check.instanceHours)} h, at most $${cost.toFixed(2)}`,
    );
  }
  const note = region === PRICE_TABLE.region ? '' : ` (prices of ${PRICE_TABLE.region}; ${region} differs)`;
  return {
    instanceHours: round(hours),
    estimatedUsd: Math.round(usd * 100) / 100,
    lines,
    priceSource: `${PRICE_TABLE.source}, ${PRICE_TABLE.asOf}${note}`,
  };
}

const round = (n: number) => Math.round(n * 100) / 100;
