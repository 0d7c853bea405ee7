/**
 * How AWS spells a region name: a 2- to 4-letter area, one or more words, a number (`us-east-1`, `ap-southeast-7`,
 * `us-gov-west-1`, `eusc-de-east-1`). Regions AWS opens later follow it too, so no list of names is kept here.
 */
export const REGION_NAME = /^[a-z]{2,4}(-[a-z]+)+-[1-9][0-9]?$/;

/** Whether `name` is spelt like an AWS region name (whether the account has it is for DescribeRegions to say). */
export function isRegionName(name: string): boolean {
  return REGION_NAME.test(name);
}

/** What is wrong with a region name given by a person, or undefined when it is well formed. */
export function regionNameProblem(name: string): string | undefined {
  if (isRegionName(name)) return undefined;
  return `"${name}" is not a region name; a region name looks like us-east-1 or ap-southeast-2`;
}

export type Partition =
  | 'aws'
  | 'aws-cn'
  | 'aws-us-gov'
  | 'aws-iso'
  | 'aws-iso-b'
  | 'aws-iso-e'
  | 'aws-iso-f'
  | 'aws-eusc';

/** Partition of a region name; gov, China and isolated regions never take part in a commercial pipeline. */
export function partitionOf(region: string): Partition {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  if (region.startsWith('us-isof-')) return 'aws-iso-f';
  if (region.startsWith('eusc-')) return 'aws-eusc';
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
  /** Names the configuration or the run gives that the account does not report: a typo, or a region not open yet. */
  readonly warnings: string[];
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
  const unreported = (names: Iterable<string>) => [...names].filter((name) => !seen.has(name)).sort();
  const warnings: string[] = [];
  const notAllowed = unreported(allow);
  if (notAllowed.length > 0)
    warnings.push(
      `regions.allow lists ${notAllowed.join(', ')}, which the account does not report (not open yet, not enabled, or misspelt); the run leaves them out until it does`,
    );
  const notDenied = unreported(deny);
  if (notDenied.length > 0)
    warnings.push(
      `regions.deny lists ${notDenied.join(', ')}, which the account does not report (not open yet, not enabled, or misspelt)`,
    );
  const notNamed = unreported(requested ?? []);
  if (notNamed.length > 0)
    warnings.push(
      `this run names ${notNamed.join(', ')}, which the account does not report (not open yet, not enabled, or misspelt)`,
    );
  for (const name of notAllowed) {
    if (!deny.has(name)) {
      decisions.push({
        region: name,
        selected: false,
        reason: 'listed in regions.allow but not enabled in the account',
      });
      seen.add(name);
    }
  }
  for (const name of notNamed) {
    if (!seen.has(name)) decisions.push({ region: name, selected: false, reason: 'named by this run but not enabled' });
  }
  return { selected: decisions.filter((d) => d.selected).map((d) => d.region), decisions, warnings };
}
