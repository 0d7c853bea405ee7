import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ClientFactory } from '../../lambdas/aws/clients';
import { discoverRegions } from '../../lambdas/aws/regions';
import { isRegionName, partitionOf } from '../../lambdas/core/regions';
import { DEFAULT_FLEET_SERIES, seedFleet, weeklyFleet } from '../support/fleet';
import { emulatorState, resetEmulator } from '../support/emulator';

const clients = new ClientFactory({ maxAttempts: 2 });

describe('enabled-region discovery against the emulator', () => {
  test('keeps only commercial regions that need no opt-in when no lists are configured', async () => {
    const selection = await discoverRegions(clients, 'us-east-1', { allow: [], deny: [] });

    expect(selection.selected).toContain('us-east-1');
    expect(selection.selected).toContain('eu-west-1');
    expect(selection.selected.some((r) => r.startsWith('us-gov-') || r.startsWith('cn-'))).toBe(false);
    expect(selection.selected).not.toContain('ap-east-1');
    expect(selection.selected.every((r) => isRegionName(r) && partitionOf(r) === 'aws')).toBe(true);
    const gov = selection.decisions.find((d) => d.region === 'us-gov-west-1');
    expect(gov).toMatchObject({ selected: false, reason: expect.stringContaining('aws-us-gov') });
    const optIn = selection.decisions.find((d) => d.region === 'ap-east-1');
    expect(optIn).toMatchObject({ selected: false, reason: 'opt-in status is not-opted-in' });
  });

  test('intersects with the allow list and removes denied regions, with a reason for each', async () => {
    const selection = await discoverRegions(clients, 'us-east-1', {
      allow: ['us-east-1', 'eu-west-1', 'ap-east-1', 'us-west-2'],
      deny: ['us-west-2'],
    });

    expect(selection.selected).toEqual(['eu-west-1', 'us-east-1']);
    expect(selection.decisions.find((d) => d.region === 'us-west-2')?.reason).toBe('listed in regions.deny');
    expect(selection.decisions.find((d) => d.region === 'ap-east-1')?.reason).toBe('opt-in status is not-opted-in');
    expect(selection.decisions.find((d) => d.region === 'sa-east-1')?.reason).toBe('not listed in regions.allow');
  });
});

describe('fleet seeding helper', () => {
  beforeEach(resetEmulator);

  test('registers tagged images with FreeBSD names in each region, visible through moto’s own state', async () => {
    const fleet = weeklyFleet({
      regions: ['us-east-1', 'eu-west-1'],
      series: DEFAULT_FLEET_SERIES.slice(0, 3),
      weeks: 4,
      newestBuildDate: '2026-11-20',
    });

    const seeded = await seedFleet(clients, fleet);

    expect(seeded).toHaveLength(2 * 3 * 4);
    expect(seeded[0]!.name).toBe('FreeBSD 15.0-CURRENT-amd64-20261120 base UFS');
    expect(seeded[0]!.description).toMatch(/^FreeBSD\/amd64 main@[0-9a-f]{8}$/);
    const inEurope = await clients.client(EC2Client, 'eu-west-1').send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(inEurope.Images).toHaveLength(12);
    const tagged = inEurope.Images!.filter((i) =>
      i.Tags?.some((t) => t.Key === 'ami-pipeline:managed-by' && t.Value === 'ami-pipeline'),
    );
    expect(tagged).toHaveLength(12);
    const snapshots = await clients
      .client(EC2Client, 'eu-west-1')
      .send(new DescribeSnapshotsCommand({ SnapshotIds: seeded.find((s) => s.region === 'eu-west-1')!.snapshotIds }));
    expect(snapshots.Snapshots?.[0]?.Tags).toEqual(
      expect.arrayContaining([{ Key: 'ami-pipeline:managed-by', Value: 'ami-pipeline' }]),
    );
    // Read back over moto's own HTTP API, independent of the SDK clients under test.
    const state = await emulatorState();
    expect(JSON.stringify(state.ec2 ?? state)).toContain(seeded[0]!.imageId);
  });
});
