import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { PipelineConfig } from '../core/config';
import { type RegionSelection, type RegionSelectionPolicy, selectRegions } from '../core/regions';
import type { ClientFactory } from './clients';

/**
 * Regions enabled for the account, intersected with the configured allow and deny lists. Asks only for enabled
 * regions (no AllRegions) and filters again locally, since not every endpoint honours the filters.
 */
export async function discoverRegions(
  clients: ClientFactory,
  buildRegion: string,
  policy: RegionSelectionPolicy,
): Promise<RegionSelection> {
  const response = await clients.client(EC2Client, buildRegion).send(
    new DescribeRegionsCommand({
      AllRegions: false,
      Filters: [{ Name: 'opt-in-status', Values: ['opt-in-not-required', 'opted-in'] }],
    }),
  );
  const described = (response.Regions ?? []).flatMap((r) =>
    r.RegionName ? [{ name: r.RegionName, optInStatus: r.OptInStatus }] : [],
  );
  return selectRegions(described, policy);
}

/**
 * The regions a run works in, the one answer for every command and function: enabled in the account, in the
 * commercial partition, allowed and not denied by the configuration, and among those the run names, if it names any.
 * A denied region is never worked in, whoever names it.
 */
export function resolveRegions(
  clients: ClientFactory,
  config: Pick<PipelineConfig, 'buildRegion' | 'regions'>,
  requested?: readonly string[],
): Promise<RegionSelection> {
  return discoverRegions(clients, config.buildRegion, {
    allow: config.regions.allow,
    deny: config.regions.deny,
    requested,
  });
}
