import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { COMMERCIAL_REGIONS, createAwsSim, runInVirtualTime } from '../../../scripts/aws-sim';
import { DEFAULT_FLEET_SERIES } from '../../support/fleet';
import { START } from './helpers';

// 48 series (FreeBSD's weekly builds), 157 weeks, 30 regions: the prune backlog of a three-year-old account.
const REGIONS = COMMERCIAL_REGIONS.slice(0, 30).map((r) => r.name);
const SERIES = Array.from({ length: 48 }, (_, i) =>
  DEFAULT_FLEET_SERIES[i % DEFAULT_FLEET_SERIES.length]!.replace(
    /^(\d+)\.\d/,
    (_m, major) => `${major}.${Math.floor(i / 6)}`,
  ),
);
const WEEKS = 157;

describe('simulated AWS at FreeBSD scale', () => {
  test('30 regions x 7,536 images with snapshots are seeded and listed page by page through the SDK', async () => {
    const sim = createAwsSim({ regions: REGIONS });
    const clients = sim.clientFactory();
    const timings: Record<string, number> = {};
    let mark = performance.now();
    const lap = (name: string) => {
      timings[name] = Math.round(performance.now() - mark);
      mark = performance.now();
    };

    const report = await runInVirtualTime(
      async () => {
        sim.seed.fleet({ regions: REGIONS, series: SERIES, weeks: WEEKS, newestBuildDate: '2026-03-01' });
        lap('seedMs');
        const listed = await Promise.all(
          REGIONS.map(async (region) => {
            const ec2 = clients.client(EC2Client, region);
            let images = 0;
            let snapshots = 0;
            let token: string | undefined;
            do {
              const page = await ec2.send(
                new DescribeImagesCommand({ Owners: ['self'], MaxResults: 1000, NextToken: token }),
              );
              images += page.Images!.length;
              token = page.NextToken;
            } while (token);
            do {
              const page = await ec2.send(
                new DescribeSnapshotsCommand({ OwnerIds: ['self'], MaxResults: 1000, NextToken: token }),
              );
              snapshots += page.Snapshots!.length;
              token = page.NextToken;
            } while (token);
            return { images, snapshots };
          }),
        );
        lap('listMs');
        return listed;
      },
      { start: START },
    );

    const perRegion = SERIES.length * WEEKS;
    expect(report.result).toEqual(REGIONS.map(() => ({ images: perRegion, snapshots: perRegion })));
    expect(sim.counters.calls({ service: 'ec2' })).toBe(30 * 2 * Math.ceil(perRegion / 1000));
    expect(sim.counters.unpaginated()).toEqual([]);
    // Timings are printed, not asserted: these machines are shared; the measured figures are in scripts/aws-sim/README.md.
    process.stdout.write(
      `scale check: ${JSON.stringify({ ...timings, virtualMs: report.virtualMs, images: 30 * perRegion })}\n`,
    );
  });
});
