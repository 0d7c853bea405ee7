/** Commercial (`aws` partition) regions known to this release of the pipeline. */
export const COMMERCIAL_REGIONS: readonly string[] = [
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
  'sa-east-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
];

export type Partition = 'aws' | 'aws-cn' | 'aws-us-gov' | 'aws-iso' | 'aws-iso-b' | 'aws-iso-e' | 'aws-iso-f';

/** Partition of a region name; gov, China and isolated regions never take part in a commercial pipeline. */
export function partitionOf(region: string): Partition {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  return 'aws';
}

export interface DescribedRegion {
  readonly name: string;
  /** `opt-in-not-required`, `opted-in` or `not-opted-in`; the emulator may leave it out. */
  readonly optInStatus?: string;
}

export interface RegionSelectionPolicy {
  /** Empty means every enabled commercial region. */
  readonly allow: readonly string[];
  readonly deny: readonly string[];
  /** Regions a run names (the CLI's `--regions`, a manual start's input): the run works in no other. */
  readonly requested?: readonly string[];
}

export interface RegionDecision {
  readonly region: string;
  readonly selected: boolean;
  readonly reason: string;
}

export interface RegionSelection {
  readonly selected: string[];
  readonly decisions: RegionDecision[];
}

const ENABLED_OPT_IN = new Set(['opt-in-not-required', 'opted-in']);

/**
 * Decides which described regions the pipeline works in, with a reason for each. Filters by partition and opt-in
 * status itself because DescribeRegions filters are not honoured everywhere (the emulator ignores them).
 */
export function selectRegions(described: readonly DescribedRegion[], policy: RegionSelectionPolicy): RegionSelection {
  const allow = new Set(policy.allow);
  const deny = new Set(policy.deny);
  const requested = policy.requested?.length ? new Set(policy.requested) : undefined;
  const decisions: RegionDecision[] = [];
  const seen = new Set<string>();
  for (const { name, optInStatus } of [...described].sort((a, b) => a.name.localeCompare(b.name))) {
    if (seen.has(name)) continue;
    seen.add(name);
    const partition = partitionOf(name);
    let reason: string;
    let selected = false;
    if (partition !== 'aws') reason = `partition ${partition} is not the commercial partition`;
    else if (optInStatus !== undefined && !ENABLED_OPT_IN.has(optInStatus)) reason = `opt-in status is ${optInStatus}`;
    else if (deny.has(name)) reason = 'listed in regions.deny';
    else if (allow.size > 0 && !allow.has(name)) reason = 'not listed in regions.allow';
    else if (requested && !requested.has(name)) reason = 'not named by this run';
    else {
      selected = true;
      reason = allow.size > 0 ? 'enabled and listed in regions.allow' : 'enabled in the account';
    }
    decisions.push({ region: name, selected, reason });
  }
  for (const name of [...allow].sort()) {
    if (!seen.has(name) && !deny.has(name)) {
      decisions.push({
        region: name,
        selected: false,
        reason: 'listed in regions.allow but not enabled in the account',
      });
      seen.add(name);
    }
  }
  for (const name of [...(requested ?? [])].sort()) {
    if (!seen.has(name)) decisions.push({ region: name, selected: false, reason: 'named by this run but not enabled' });
  }
  return { selected: decisions.filter((d) => d.selected).map((d) => d.region), decisions };
}
