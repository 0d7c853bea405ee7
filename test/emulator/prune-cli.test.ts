import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ClientFactory } from '../../lambdas/aws/clients';
import { seedFleet, weeklyFleet } from '../support/fleet';
import { emulatorEndpoint } from '../support/emulator';
import { runCli } from '../support/cli';
import { DAY_MS } from '../../lambdas/core/time';

const newest = new Date(Date.now() - 2 * DAY_MS).toISOString().slice(0, 10);
const common = () => ['--endpoint-url', emulatorEndpoint(), '--regions', 'sa-east-1'];
const retention = [
  '--set',
  'retention.keepNewest=2',
  '--set',
  'retention.minAgeDays=0',
  '--set',
  'safety.maxDeleteShare=1',
];

describe('ami-pipeline prune and adopt', () => {
  const clients = new ClientFactory({ maxAttempts: 1 });
  const images = async () =>
    (await clients.client(EC2Client, 'sa-east-1').send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];

  beforeAll(async () => {
    await seedFleet(
      clients,
      weeklyFleet({
        regions: ['sa-east-1'],
        series: ['14.3-STABLE/amd64/base/ufs'],
        weeks: 5,
        newestBuildDate: newest,
      }),
    );
    await seedFleet(
      clients,
      weeklyFleet({
        regions: ['sa-east-1'],
        series: ['13.5-STABLE/arm64/small/ufs'],
        weeks: 1,
        newestBuildDate: newest,
        tags: {},
      }),
    );
  });

  test('plans by default: a table grouped by region and series, and nothing deleted', async () => {
    const output = await runCli('prune', ...common(), ...retention, '--details');

    expect(output.split('\n')[0]).toMatch(/^REGION\s+SERIES\s+KEEP\s+DEREGISTER\s+SOFT-DELETE\s+DEFERRED\s+REASONS$/);
    expect(output).toMatch(/sa-east-1\s+14\.3-STABLE\/amd64\/base\/ufs\s+2\s+3\s+0\s+0\s+aged-out 3, newest-builds 2/);
    expect(output).toMatch(/sa-east-1\s+13\.5-STABLE\/arm64\/small\/ufs\s+1\s+0\s+0\s+0\s+untagged 1/);
    expect(output).toContain('Dry run: nothing was deleted');
    expect(output).toMatch(
      /sa-east-1\s+ami-\w+\s+FreeBSD 13\.5-STABLE-arm64-\d{8} small UFS\s+keep\s+no ami-pipeline:managed-by/,
    );
    expect(await images()).toHaveLength(6);
  });

  test('only plans without --execute, even when the configuration turns dry-run off', async () => {
    const output = await runCli('prune', ...common(), ...retention, '--set', 'safety.dryRun=false');

    expect(output).toContain('Dry run: nothing was deleted');
    expect(await images()).toHaveLength(6);
  });

  test('never touches a denied region, even when it is named, and says why nothing is left to work in', async () => {
    const run = runCli('prune', ...common(), ...retention, '--set', 'regions.deny=["sa-east-1"]', '--execute');

    await expect(run).rejects.toThrow('--regions leaves no region to work in (sa-east-1: listed in regions.deny)');
    expect(await images()).toHaveLength(6);
  });

  test('--output json gives the plan and the report', async () => {
    const output = JSON.parse(await runCli('prune', ...common(), ...retention, '--output', 'json'));

    expect(output.report).toMatchObject({ dryRun: true, totals: { imagesDeregistered: 3, snapshotsDeleted: 3 } });
    expect(output.plan.regions[0].images).toHaveLength(6);
  });

  test('names the lines past their end of life and what they held, and plans their builds like any other', async () => {
    const output = await runCli(
      'prune',
      ...common(),
      ...retention,
      '--set',
      'retention.lineEndOfLife={"14-STABLE":"2020-01-01","12-STABLE":"2019-06-30"}',
    );

    expect(output).toMatch(/sa-east-1\s+14\.3-STABLE\/amd64\/base\/ufs\s+0\s+5\s+0\s+0\s+line-end-of-life 5/);
    expect(output).toMatch(/^RETIRED LINE\s+END OF LIFE\s+IMAGES\s+SNAPSHOTS\s+GIB\s+WOULD DEREGISTER\s+KEPT$/m);
    expect(output).toMatch(/^12-STABLE\s+2019-06-30\s+0\s+0\s+0\s+0\s*$/m);
    expect(output).toMatch(/^14-STABLE\s+2020-01-01\s+5\s+5\s+75\s+5\s*$/m);
    expect(await images()).toHaveLength(6);
  });

  test('adopt --execute tags the untagged build; prune --execute then deletes what the plan said', async () => {
    const adopted = await runCli('adopt', ...common(), '--execute');
    const pruned = await runCli('prune', ...common(), ...retention, '--execute');

    expect(adopted).toContain('Tagged 2 images and snapshots; 0 failed.');
    expect(pruned).toContain('Deregistered 3 images, deleted 3 snapshots, reclaimed 45 GiB.');
    expect((await images()).map((i) => i.Name).sort()).toEqual(
      [0, 1]
        .map(
          (w) =>
            `FreeBSD 14.3-STABLE-amd64-${new Date(Date.parse(newest) - w * 7 * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')} base UFS`,
        )
        .concat([`FreeBSD 13.5-STABLE-arm64-${newest.replaceAll('-', '')} small UFS`])
        .sort(),
    );
  });
});
