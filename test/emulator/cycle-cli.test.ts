import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ClientFactory } from '../../lambdas/aws/clients';
import { seedFleet, weeklyFleet } from '../support/fleet';
import { runCli } from '../support/cli';
import { emulatorEndpoint } from '../support/emulator';
import { DAY_MS } from '../../lambdas/core/time';

const REGIONS = 'us-east-1,eu-west-1';
const clients = new ClientFactory({ maxAttempts: 2 });

// Private copies of release builds: the CLI talks to the emulator without stand-ins for the block-public-access and
// deprecation APIs that it lacks.
const run = () => [
  '--endpoint-url',
  emulatorEndpoint(),
  '--regions',
  REGIONS,
  '--set',
  'publish.makeAmiPublic=false',
  '--set',
  'publish.makeSnapshotPublic=false',
  '--set',
  'retention.minAgeDays=0',
  '--set',
  'retention.keepNewest=2',
  '--set',
  'safety.maxDeleteShare=1',
  '--poll-seconds',
  '0',
];

describe('ami-pipeline cycle', () => {
  beforeAll(async () => {
    const newest = new Date(Date.now() - 2 * DAY_MS).toISOString().slice(0, 10);
    await seedFleet(clients, [
      {
        region: 'us-east-1',
        arch: 'amd64',
        name: 'FreeBSD 14.3-RELEASE-amd64 base UFS',
        description: 'FreeBSD/amd64 releng/14.3@1a2b3c4d5e',
        tags: {},
      },
      ...weeklyFleet({
        regions: ['eu-west-1'],
        series: ['15.0-CURRENT/amd64/base/ufs'],
        weeks: 4,
        newestBuildDate: newest,
      }).map((image) => ({ ...image, tags: { ...image.tags, 'ami-pipeline:published-at': newest } })),
    ]);
  });

  test('publishes, plans the prune without deleting, and prints the digest', async () => {
    const output = await runCli('cycle', ...run());

    expect(output).toMatch(/^Subject: \[ami-pipeline\] \d{4}-\d{2}-\d{2}: 1 published, 2 pruned \(dry-run\)/);
    expect(output).toContain('1 new image published to 2 regions (2 copies made), announced on the mailing list.');
    expect(output).toContain('    FreeBSD 14.3-RELEASE-amd64 base UFS');
    expect(output).toContain('Prune (dry-run: nothing was deleted)');
    const europe = await clients.client(EC2Client, 'eu-west-1').send(new DescribeImagesCommand({ Owners: ['self'] }));
    expect(europe.Images).toHaveLength(5);
  });

  test('refuses a boot-test network given by halves', async () => {
    await expect(runCli('cycle', ...run(), '--subnet', 'subnet-1')).rejects.toThrow(
      'boot tests need both --subnet and --security-group',
    );
  });
});
